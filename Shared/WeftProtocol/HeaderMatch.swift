/// One header condition of a route: `{"name": "x-terminal-type", "exact": "kiosk"}`
/// or `{"name": "x-firmware-version", "version": ">=2.1.0 <3.0.0"}`. See
/// `ValueMatch` for the matchers.
public struct HeaderMatch: Codable, Hashable, Sendable {
    public var name: HeaderName
    public var match: ValueMatch

    public init(name: HeaderName, match: ValueMatch) {
        self.name = name
        self.match = match
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ValueMatch.fields + ["name"])
        self.name = try object.required("name")
        self.match = try ValueMatch(
            from: object, allowed: ["exact", "prefix", "regex", "present", "absent", "version"])
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(name, "name")
        try match.encode(into: &object)
    }
}
