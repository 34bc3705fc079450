/// Changes a route makes to the response's header fields before the caller
/// sees them: `set` replaces every field of a name with one value, `add`
/// appends a field and keeps those already there, `remove` drops every field
/// of a name. Applied in that order: remove, then set, then add.
///
/// What may not be touched: connection-specific fields and `content-length`
/// (they describe how the bytes travel, not the response), `host`, and Weft's
/// own `x-weft-*` fields (the mesh's word on what happened, which a route must
/// not forge or hide). At most 32 changes in all; values are header values
/// without control characters, at most 4,096 bytes.
public struct HeaderEdits: Codable, Hashable, Sendable {
    public var setFields: [HeaderName: String]
    public var addFields: [HeaderName: String]
    public var removeFields: [HeaderName]

    public init(
        set setFields: [HeaderName: String] = [:], add addFields: [HeaderName: String] = [:],
        remove removeFields: [HeaderName] = []
    ) throws(ProtocolError) {
        let (set, add, remove) = (setFields, addFields, removeFields)
        guard set.count + add.count + remove.count <= ProtocolLimits.headerRewritesPerRoute else {
            throw ProtocolError(field: "set", "at most \(ProtocolLimits.headerRewritesPerRoute) header changes in all")
        }
        let why = "cannot be changed by a route (connection fields, content-length, host and x-weft-* are the proxy's)"
        for (field, names) in [("set", set.keys.sorted()), ("add", add.keys.sorted())] {
            for name in names where Self.untouchable(name) {
                throw ProtocolError(FieldPath([.key(field), .key(name.rawValue)]), "\(name) \(why)")
            }
        }
        for (index, name) in remove.enumerated() where Self.untouchable(name) {
            throw ProtocolError(FieldPath([.key("remove"), .index(index)]), "\(name) \(why)")
        }
        for (field, values) in [("set", set), ("add", add)] {
            for (name, value) in values.sorted(by: { $0.key < $1.key }) where !Self.isValidValue(value) {
                throw ProtocolError(
                    FieldPath([.key(field), .key(name.rawValue)]),
                    "must be a header value without control characters, at most \(ProtocolLimits.headerValueLength) bytes"
                )
            }
        }
        self.setFields = set
        self.addFields = add
        self.removeFields = remove
    }

    public var isEmpty: Bool { setFields.isEmpty && addFields.isEmpty && removeFields.isEmpty }

    static func untouchable(_ name: HeaderName) -> Bool {
        HeaderName.hopByHop.contains(name.rawValue) || name.rawValue == "content-length" || name.rawValue == "host"
            || name.rawValue.hasPrefix(WeftHeaders.prefix)
    }

    /// A field value: tab and visible bytes (and obs-text), at most 4,096 bytes.
    static func isValidValue(_ value: String) -> Bool {
        value.utf8.count <= ProtocolLimits.headerValueLength
            && value.utf8.allSatisfy { $0 == 0x09 || $0 >= 0x20 && $0 != 0x7F }
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["set", "add", "remove"])
        let set = try object.headerFields("set")
        let add = try object.headerFields("add")
        let remove: [HeaderName] = try object.list("remove", limit: ProtocolLimits.headerRewritesPerRoute)
        self = try object.validate { () throws(ProtocolError) in try HeaderEdits(set: set, add: add, remove: remove) }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        if !setFields.isEmpty {
            try object.encode(Dictionary(uniqueKeysWithValues: setFields.map { ($0.key.rawValue, $0.value) }), "set")
        }
        if !addFields.isEmpty {
            try object.encode(Dictionary(uniqueKeysWithValues: addFields.map { ($0.key.rawValue, $0.value) }), "add")
        }
        if !removeFields.isEmpty { try object.encode(removeFields, "remove") }
    }
}
