/// An error from WeftPostgres: libpq's status mapped once, with the server's
/// SQLSTATE where there is one so callers can react to a class of failure
/// (`40001` serialization failure, `23505` unique violation) rather than to text.
public struct PostgresError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Equatable, Sendable {
        /// The server could not be reached or refused the connection.
        case connectionFailed
        /// The connection broke while in use.
        case connectionLost
        /// The server rejected a statement.
        case statementFailed
        /// A value could not be decoded into the Swift type asked for.
        case decodingFailed
        /// Every pooled connection stayed busy past the acquire timeout, or too many
        /// callers were already waiting.
        case poolExhausted
        /// The pool or listener was shut down.
        case shutDown
        /// The database's schema is newer than this binary knows.
        case schemaTooNew
    }

    public var kind: Kind
    /// The five-character SQLSTATE the server sent, when it sent one.
    public var sqlState: String?
    public var message: String

    public init(_ kind: Kind, sqlState: String? = nil, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    /// A serializable transaction lost a conflict (40001) or a deadlock was broken
    /// (40P01): running the transaction again is the remedy.
    public var isTransient: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// The database is unreachable or went away: the caller should answer 503 and
    /// let the pool reconnect.
    public var isUnavailable: Bool { kind == .connectionFailed || kind == .connectionLost || kind == .poolExhausted }

    public var description: String {
        if let sqlState { return "\(kind.rawValue) [\(sqlState)]: \(message)" }
        return "\(kind.rawValue): \(message)"
    }
}
