/// One query-string condition of a route: `{"name": "debug", "present": true}`.
/// Names are compared exactly (query parameters are case-sensitive); values are
/// compared after percent-decoding, which is the proxy's job.
public struct QueryParameterMatch: Codable, Hashable, Sendable {
    public var name: String
    public var match: ValueMatch

    public init(name: String, match: ValueMatch) throws(ProtocolError) {
        guard !name.isEmpty, name.utf8.count <= ProtocolLimits.headerNameLength else {
            throw ProtocolError(field: "name", "must be 1 to \(ProtocolLimits.headerNameLength) bytes")
        }
        guard name.utf8.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "&") && $0 != UInt8(ascii: "=") })
        else {
            throw ProtocolError(field: "name", "may hold only visible ASCII other than & and =")
        }
        self.name = name
        self.match = match
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["name", "exact", "prefix", "regex", "present", "absent"])
        let name: String = try object.required("name")
        let match = try ValueMatch(from: object, allowed: ["exact", "prefix", "regex", "present", "absent"])
        self = try object.validate { () throws(ProtocolError) in try QueryParameterMatch(name: name, match: match) }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(name, "name")
        try match.encode(into: &object)
    }
}
