#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// How Weft reads and writes its JSON documents.
///
/// Decoding refuses oversized documents and duplicate object keys before parsing,
/// turns every failure into a
/// `ProtocolError` with a field path, and by default refuses fields it does not
/// know: a misspelt `timout` in a route must fail loudly, not be ignored. Proxies
/// reading snapshots from a newer registry during a rolling upgrade opt into
/// `.ignore` instead (see docs/protocol.md, "Unknown fields").
public enum WeftJSON {
    /// What to do with an object member no Weft type declares.
    public enum UnknownFieldPolicy: Sendable {
        case reject
        case ignore
    }

    /// The largest document accepted by default: 1 MiB. Configuration objects are
    /// far smaller; the limit keeps a hostile body from costing memory and CPU.
    public static let defaultMaximumSize = 1 << 20

    static let unknownFieldsKey = CodingUserInfoKey(rawValue: "weft.unknownFields")!

    /// Decodes and validates a `T` from JSON bytes.
    public static func decode<T: Decodable>(
        _ type: T.Type,
        from data: Data,
        unknownFields: UnknownFieldPolicy = .reject,
        maximumSize: Int = defaultMaximumSize
    ) throws(ProtocolError) -> T {
        guard data.count <= maximumSize else {
            throw ProtocolError("document is \(data.count) bytes; the limit is \(maximumSize)")
        }
        guard !data.isEmpty else {
            throw ProtocolError("document is empty; expected JSON")
        }
        // Parsers disagree on which of two equal keys wins; refuse rather than pick.
        if let duplicate = data.withUnsafeBytes({ DuplicateKeyScanner.firstDuplicate(in: $0) }) {
            throw ProtocolError(
                duplicate, "duplicate key; JSON parsers disagree on which value wins, so Weft accepts neither")
        }
        let decoder = JSONDecoder()
        decoder.userInfo[unknownFieldsKey] = unknownFields
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as ProtocolError {
            throw error
        } catch let error as DecodingError {
            throw ProtocolError(decoding: error)
        } catch {
            throw ProtocolError("malformed JSON: \(error)")
        }
    }

    /// Decodes from a string; convenient for tests and CLIs.
    public static func decode<T: Decodable>(
        _ type: T.Type,
        from text: String,
        unknownFields: UnknownFieldPolicy = .reject
    ) throws(ProtocolError) -> T {
        try decode(type, from: Data(text.utf8), unknownFields: unknownFields)
    }

    /// Encodes a value with sorted keys, so that equal values give equal bytes (the
    /// registry hashes snapshots, and diffs of configuration stay readable).
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

extension ProtocolError {
    /// Maps Foundation's decoding errors, once, to Weft's path-and-reason form.
    init(decoding error: DecodingError) {
        switch error {
        case .typeMismatch(let type, let context):
            self.init(FieldPath(context.codingPath), "expected \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            self.init(FieldPath(context.codingPath), "expected \(Self.describe(type)), found null")
        case .keyNotFound(let key, let context):
            self.init(FieldPath(context.codingPath + [key]), "is required")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let underlying = context.underlyingError.map { " (\($0))" } ?? ""
                self.init(FieldPath(), "malformed JSON: \(context.debugDescription)\(underlying)")
            } else {
                self.init(FieldPath(context.codingPath), context.debugDescription)
            }
        @unknown default:
            self.init(FieldPath(), "malformed JSON")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type, is UInt32.Type, is UInt16.Type, is UInt8.Type:
            return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") || name.contains("KeyedDecodingContainer") { return "an object" }
            return "a value of type \(name)"
        }
    }
}
