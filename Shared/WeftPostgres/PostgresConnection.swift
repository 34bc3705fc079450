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
    /// `statementTimeoutMilliseconds`, when set, makes the server cancel any
    /// statement running longer (SQLSTATE 57014), so a stuck query cannot hold a
    /// pooled connection forever.
    public init(url: String, connectTimeoutSeconds: Int = 10, statementTimeoutMilliseconds: Int? = nil) throws {
        // Keys given as parameters override the URL's, so the timeouts and the
        // application name are always set.
        var keys = ["dbname", "connect_timeout", "application_name"]
        var values = [url, String(connectTimeoutSeconds), "weft"]
        if let statementTimeoutMilliseconds {
            keys.append("options")
            values.append("-c statement_timeout=\(max(0, statementTimeoutMilliseconds))")
        }
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
        // Server notices ("relation already exists, skipping") are not errors;
        // libpq would print them on stderr, outside the service's log.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.connection = connection
    }

    deinit {
        PQfinish(connection)
    }

    /// Runs one statement with text-format parameters (`$1`, `$2`, …; `nil` is SQL
    /// NULL) and returns its rows as text (`nil` for NULL).
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> [PostgresRow] {
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
        let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        var rows: [PostgresRow] = []
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
            rows.append(PostgresRow(columns: columns, values: values))
        }
        return rows
    }

    /// Whether the connection is still up, as far as libpq knows (a dead server is
    /// noticed on the next use).
    public var isConnected: Bool { PQstatus(connection) == CONNECTION_OK }

    /// Whether the connection is up and outside any transaction: the only state in
    /// which a pool may hand it to someone else.
    public var isReusable: Bool { isConnected && PQtransactionStatus(connection) == PQTRANS_IDLE }

    // MARK: Notifications (LISTEN/NOTIFY)

    /// Starts listening on `channel`. Channel names are identifiers and cannot be
    /// parameters, so only lowercase letters, digits and `_` are accepted.
    public func listen(_ channel: String) throws(PostgresError) {
        guard Self.isChannelName(channel) else {
            throw PostgresError(
                .statementFailed,
                message: "channel name \(channel.prefix(70)) must be 1-63 of [a-z0-9_], not a digit first")
        }
        try query("LISTEN \"\(channel)\"")
    }

    /// Sends a notification (any connection may; listeners on every connection to
    /// the database receive it once the transaction commits).
    public func notify(_ channel: String, payload: String) throws(PostgresError) {
        try query("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// Waits up to `timeoutMilliseconds` for notifications and returns those that
    /// arrived (possibly none). Throws `connectionLost` when the server went away.
    public func waitForNotifications(timeoutMilliseconds: Int32) throws(PostgresError) -> [PostgresNotification] {
        var found = takeNotifications()
        if !found.isEmpty { return found }
        let descriptor = PQsocket(connection)
        guard descriptor >= 0 else {
            throw PostgresError(.connectionLost, message: "the connection has no socket")
        }
        var watched = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&watched, 1, timeoutMilliseconds)
        if ready < 0 && errno != EINTR {
            throw PostgresError(.connectionLost, message: "poll failed: \(String(cString: strerror(errno)))")
        }
        if ready > 0 {
            guard PQconsumeInput(connection) == 1, isConnected else {
                throw PostgresError(.connectionLost, message: Self.trimmed(PQerrorMessage(connection)))
            }
            found = takeNotifications()
        }
        return found
    }

    private func takeNotifications() -> [PostgresNotification] {
        var found: [PostgresNotification] = []
        while let notice = PQnotifies(connection) {
            found.append(
                PostgresNotification(
                    channel: String(cString: notice.pointee.relname), payload: String(cString: notice.pointee.extra),
                    processID: notice.pointee.be_pid))
            PQfreemem(notice)
        }
        return found
    }

    static func isChannelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
            name.utf8.count <= 63
        else { return false }
        return name.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
    }

    /// The server's version number (`150018` for 15.18).
    public var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// The linked libpq's version number (`150018` for 15.18).
    public static var libraryVersion: Int { Int(PQlibVersion()) }

    fileprivate static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
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
