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

    public var description: String {
        if let sqlState { return "\(kind.rawValue) [\(sqlState)]: \(message)" }
        return "\(kind.rawValue): \(message)"
    }
}
