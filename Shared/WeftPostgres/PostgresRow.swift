/// One row of a result, as text (`nil` for NULL), with typed access by column
/// index or name. Compares equal by values, so tests can write
/// `try connection.query(…) == [["42"]]`.
public struct PostgresRow: Sendable, Equatable, ExpressibleByArrayLiteral, RandomAccessCollection {
    public let columns: [String]
    public let values: [String?]

    public init(columns: [String], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    public init(arrayLiteral values: String?...) {
        self.init(columns: [], values: values)
    }

    public static func == (left: PostgresRow, right: PostgresRow) -> Bool { left.values == right.values }

    public var startIndex: Int { values.startIndex }
    public var endIndex: Int { values.endIndex }
    public subscript(position: Int) -> String? { values[position] }

    /// The value of `column` decoded as `T`; NULL and malformed text are errors
    /// naming the column.
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard values.indices.contains(column) else {
            throw PostgresError(.decodingFailed, message: "no column \(column) (the row has \(values.count))")
        }
        guard let text = values[column] else {
            throw PostgresError(.decodingFailed, message: "column \(name(column)) is NULL, expected \(T.self)")
        }
        guard let value = T(postgresText: text) else {
            throw PostgresError(
                .decodingFailed, message: "column \(name(column)): \(text.prefix(40)) is not a valid \(T.self)")
        }
        return value
    }

    /// Like `decode(_:as:)`, with NULL as nil.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws(PostgresError)
        -> T?
    {
        guard values.indices.contains(column), values[column] != nil else { return nil }
        return try decode(column, as: T.self)
    }

    /// The value of the column named `name`.
    public func decode<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard let index = columns.firstIndex(of: name) else {
            throw PostgresError(.decodingFailed, message: "no column named \(name)")
        }
        return try decode(index, as: T.self)
    }

    private func name(_ column: Int) -> String {
        columns.indices.contains(column) ? columns[column] : String(column)
    }
}

/// A Swift type read from PostgreSQL's text format.
public protocol PostgresDecodable {
    init?(postgresText: String)
}

extension String: PostgresDecodable {
    public init?(postgresText: String) { self = postgresText }
}

extension Int: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int64: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int32: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Double: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Bool: PostgresDecodable {
    public init?(postgresText: String) {
        switch postgresText {
        case "t": self = true
        case "f": self = false
        default: return nil
        }
    }
}

/// A NOTIFY received on a listening connection.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// The server process that sent it.
    public var processID: Int32
}
