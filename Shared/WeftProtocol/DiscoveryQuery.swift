/// The blocking-query parameters of a discovery call (`?index=42&wait=30s`): answer
/// at once if the registry's version is past `index`, otherwise hold the request
/// until it is or until `wait` runs out (at most 5 minutes; 30 s by default).
public struct DiscoveryQuery: Hashable, Sendable {
    public var index: UInt64
    public var wait: WeftDuration

    public static let defaultWait = WeftDuration.seconds(30)
    public static let maximumWait = WeftDuration.seconds(300)

    public init(index: UInt64 = 0, wait: WeftDuration = DiscoveryQuery.defaultWait) throws(ProtocolError) {
        try wait.check(in: .milliseconds(0)...Self.maximumWait, field: "wait")
        self.index = index
        self.wait = wait
    }

    /// Parses the URL's query parameters; unknown parameters are refused, a typo in
    /// `wiat` would otherwise turn a blocking query into a busy loop.
    public init(parameters: [(name: String, value: String)]) throws(ProtocolError) {
        var index: UInt64 = 0
        var wait = Self.defaultWait
        var seen = Set<String>()
        for (name, value) in parameters {
            guard seen.insert(name).inserted else { throw ProtocolError(field: name, "given twice") }
            switch name {
            case "index":
                guard let parsed = UInt64(value) else {
                    throw ProtocolError(field: "index", "must be a non-negative integer, got \"\(value.prefix(40))\"")
                }
                index = parsed
            case "wait":
                do {
                    wait = try WeftDuration(validating: value)
                } catch {
                    throw ProtocolError(field: "wait", error.reason)
                }
            default:
                throw ProtocolError(field: name, "unknown query parameter; expected index or wait")
            }
        }
        try self.init(index: index, wait: wait)
    }
}
