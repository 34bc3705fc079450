internal import CLibPQ

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// One libpq connection (`PGconn`), owned by this object and closed in `deinit`.
///
/// Calls block the calling thread while libpq waits on the server, so this type is
/// for control-plane code running off the NIO event loops (DESIGN.md, Threading).
/// Statements are always sent with `PQexecParams`: values travel as parameters,
/// never spliced into SQL text.
public final class PostgresConnection {
    private let connection: OpaquePointer

    /// Connects with a libpq connection string or URL
    /// (`postgresql://user@127.0.0.1:5432/db`). `connectTimeoutSeconds` bounds how
    /// long an unreachable server can hold the caller.
    public init(url: String, connectTimeoutSeconds: Int = 10) throws {
        // Keys given as parameters override the URL's, so the timeout and the
        // application name are always set.
        let keys = ["dbname", "connect_timeout", "application_name"]
        let values = [url, String(connectTimeoutSeconds), "weft"]
        let connection = withCStringArray(keys) { keyPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keyPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(.connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(.connectionFailed, message: message)
        }
        self.connection = connection
    }

    deinit {
        PQfinish(connection)
    }

    /// Runs one statement with text-format parameters (`$1`, `$2`, …; `nil` is SQL
    /// NULL) and returns its rows as text (`nil` for NULL).
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
        // libpq takes C strings: a NUL byte would silently cut the value short, so a
        // value holding one is refused rather than stored truncated.
        if sql.utf8.contains(0) {
            throw PostgresError(.statementFailed, message: "the statement contains a NUL byte")
        }
        if let index = parameters.firstIndex(where: { $0?.utf8.contains(0) == true }) {
            throw PostgresError(
                .statementFailed,
                message: "parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot hold")
        }
        let result = withOptionalCStringArray(parameters) { parameterPointers in
            PQexecParams(connection, sql, Int32(parameters.count), nil, parameterPointers, nil, nil, 0)
        }
        guard let result else {
            throw PostgresError(.connectionLost, message: Self.trimmed(PQerrorMessage(connection)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
            break
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.trimmed(PQresultErrorMessage(result))
            let kind: PostgresError.Kind = PQstatus(connection) == CONNECTION_OK ? .statementFailed : .connectionLost
            throw PostgresError(kind, sqlState: state, message: message)
        }
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(Int(columnCount))
            for column in 0..<columnCount {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, row, column)))
                }
            }
            rows.append(values)
        }
        return rows
    }

    /// The server's version number (`150018` for 15.18).
    public var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// The linked libpq's version number (`150018` for 15.18).
    public static var libraryVersion: Int { Int(PQlibVersion()) }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        return String(cString: message).trimmingTrailingNewlines()
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last.isNewline || last == " " { text = text.dropLast() }
        return String(text)
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withOptionalCStringArray(strings.map { Optional($0) }, body)
}

private func withOptionalCStringArray<R>(
    _ strings: [String?],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R
) -> R {
    let duplicates: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { for pointer in duplicates { free(pointer) } }
    let pointers: [UnsafePointer<CChar>?] = duplicates.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
