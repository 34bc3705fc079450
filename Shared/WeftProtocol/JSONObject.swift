/// A coding key for any member name; lets Weft see every key of an object,
/// including the ones no type declares.
struct AnyKey: CodingKey, Hashable, ExpressibleByStringLiteral {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ string: String) { self.stringValue = string }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
    init(stringLiteral value: String) { self.stringValue = value }
}

/// Reads one JSON object for a hand-written `init(from:)`: checks the member names
/// against the type's list (per the decoder's unknown-field policy), and turns a
/// missing or invalid member into a `ProtocolError` with its full path.
///
/// Every Weft type decodes through this, so the error policy lives in one place.
struct JSONObject {
    let container: KeyedDecodingContainer<AnyKey>
    let codingPath: [any CodingKey]

    /// `fields` is a short list (at most a dozen names): a linear scan is cheaper
    /// than hashing it into a set for every object decoded.
    init(_ decoder: any Decoder, fields: [String]) throws {
        self.container = try decoder.container(keyedBy: AnyKey.self)
        self.codingPath = decoder.codingPath
        let policy = decoder.userInfo[WeftJSON.unknownFieldsKey] as? WeftJSON.UnknownFieldPolicy ?? .reject
        if policy == .reject {
            // The common case allocates nothing beyond allKeys; on failure, report the
            // first unknown member in name order, so the message is stable.
            let keys = container.allKeys
            if keys.contains(where: { !fields.contains($0.stringValue) }),
                let unknown = keys.map(\.stringValue).filter({ !fields.contains($0) }).min()
            {
                let known = fields.sorted().joined(separator: ", ")
                throw ProtocolError(
                    FieldPath(codingPath + [AnyKey(unknown)]), "unknown field; known fields are: \(known)")
            }
        }
    }

    func contains(_ key: String) -> Bool { container.contains(AnyKey(key)) }

    /// A member that must be present and not null.
    func required<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T {
        guard container.contains(AnyKey(key)) else {
            throw ProtocolError(FieldPath(codingPath + [AnyKey(key)]), "is required")
        }
        if try container.decodeNil(forKey: AnyKey(key)) {
            throw ProtocolError(FieldPath(codingPath + [AnyKey(key)]), "must not be null")
        }
        return try decodeValue(T.self, key)
    }

    /// A member that may be absent or null.
    func optional<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T? {
        guard container.contains(AnyKey(key)), try !container.decodeNil(forKey: AnyKey(key)) else { return nil }
        return try decodeValue(T.self, key)
    }

    /// A member with a default when absent or null.
    func optional<T: Decodable>(_ key: String, default value: T) throws -> T {
        try optional(key, as: T.self) ?? value
    }

    private func decodeValue<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
        try container.decode(T.self, forKey: AnyKey(key))
    }

    // Integer members take these overloads (chosen statically over the generic
    // ones), so that a bad number gets a precise error without a dynamic cast on
    // every member decoded.
    func required(_ key: String, as type: Int.Type = Int.self) throws -> Int {
        guard try requirePresent(key) else { return 0 }
        return try decodeInteger(Int.self, key)
    }

    func required(_ key: String, as type: UInt64.Type = UInt64.self) throws -> UInt64 {
        guard try requirePresent(key) else { return 0 }
        return try decodeInteger(UInt64.self, key)
    }

    func optional(_ key: String, default value: Int) throws -> Int {
        guard container.contains(AnyKey(key)), try !container.decodeNil(forKey: AnyKey(key)) else { return value }
        return try decodeInteger(Int.self, key)
    }

    func optional(_ key: String, as type: Int.Type = Int.self) throws -> Int? {
        guard container.contains(AnyKey(key)), try !container.decodeNil(forKey: AnyKey(key)) else { return nil }
        return try decodeInteger(Int.self, key)
    }

    /// Throws unless `key` is present and not null; returns true.
    private func requirePresent(_ key: String) throws -> Bool {
        guard container.contains(AnyKey(key)) else {
            throw ProtocolError(FieldPath(codingPath + [AnyKey(key)]), "is required")
        }
        if try container.decodeNil(forKey: AnyKey(key)) {
            throw ProtocolError(FieldPath(codingPath + [AnyKey(key)]), "must not be null")
        }
        return true
    }

    /// Foundation's JSONDecoder reports `80.5` or `-1` for an unsigned field as "not
    /// valid JSON" for the whole document, with no path. When an integer does not
    /// decode, read the member again as a number to say precisely what is wrong.
    private func decodeInteger<I: FixedWidthInteger & Decodable>(_ type: I.Type, _ key: String) throws -> I {
        if let value = try? container.decode(I.self, forKey: AnyKey(key)) { return value }
        if let number = try? container.decode(Double.self, forKey: AnyKey(key)) {
            if number.rounded() != number { throw self.error(key, "must be a whole number, got \(number)") }
            throw self.error(key, "is out of range (\(I.min) to \(I.max))")
        }
        return try container.decode(I.self, forKey: AnyKey(key))
    }

    /// An error about this object's member `key`.
    /// An object of header fields (`{"x-via": "edge"}`), absent or null being
    /// none; a name that is not a header name is refused under `key`.
    func headerFields(_ key: String) throws -> [HeaderName: String] {
        let raw: [String: String] = try optional(key, default: [:])
        var fields: [HeaderName: String] = [:]
        for (name, value) in raw {
            do {
                fields[try HeaderName(validating: name)] = value
            } catch {
                throw self.error(key, error.reason)
            }
        }
        return fields
    }

    func error(_ key: String, _ reason: String) -> ProtocolError {
        ProtocolError(FieldPath(codingPath + [AnyKey(key)]), reason)
    }

    /// Runs a validating initializer, placing its (relative) errors under this
    /// object's path.
    func validate<T>(_ build: () throws(ProtocolError) -> T) throws(ProtocolError) -> T {
        do {
            return try build()
        } catch {
            throw error.under(codingPath)
        }
    }
}

/// Decoding of single-string values (names, IDs, versions, durations) through a
/// validating initializer, with the error placed at the value's path.
protocol StringValidated: Codable, CustomStringConvertible {
    init(validating text: String) throws(ProtocolError)
}

extension StringValidated {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(validating: text)
        } catch {
            throw error.under(decoder.codingPath)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension KeyedEncodingContainer where K == AnyKey {
    /// Encodes `value` unless it is nil, so absent options stay absent in JSON.
    mutating func encode<T: Encodable>(_ value: T?, _ key: String) throws {
        if let value { try encode(value, forKey: AnyKey(key)) }
    }
}

extension Encoder {
    func object() -> KeyedEncodingContainer<AnyKey> { container(keyedBy: AnyKey.self) }
}

extension JSONObject {
    /// An array member, absent meaning empty, refused past `limit` elements. The
    /// count is checked before any element is decoded.
    func list<T: Decodable>(_ key: String, limit: Int, required: Bool = false) throws -> [T] {
        let anyKey = AnyKey(key)
        guard container.contains(anyKey), try !container.decodeNil(forKey: anyKey) else {
            if required { throw error(key, "is required") }
            return []
        }
        let elements = try container.nestedUnkeyedContainer(forKey: anyKey)
        if let count = elements.count, count > limit {
            throw error(key, "has \(count) entries; the limit is \(limit)")
        }
        let values = try container.decode([T].self, forKey: anyKey)
        if required && values.isEmpty { throw error(key, "must not be empty") }
        return values
    }
}

/// Shared check for the percentages used by mirrors and faults.
enum Percent {
    static func validate(_ value: Double, field: String) throws(ProtocolError) {
        guard value.isFinite, (0...100).contains(value) else {
            throw ProtocolError(field: field, "must be a percentage between 0 and 100, got \(value)")
        }
    }
}
