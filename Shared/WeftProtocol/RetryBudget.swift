/// Caps retries to a share of live traffic, so retries cannot multiply load on an
/// upstream that is already failing. Linkerd's model: retries may add at most
/// `percent` of the requests seen over the last `window`, plus a floor of
/// `min_retries_per_second` so that a quiet service can still retry.
public struct RetryBudget: Codable, Hashable, Sendable {
    public var percent: Double
    public var minimumRetriesPerSecond: Int
    public var window: WeftDuration

    public static let `default` = try! RetryBudget(percent: 20, minimumRetriesPerSecond: 10, window: .seconds(10))

    public init(percent: Double, minimumRetriesPerSecond: Int, window: WeftDuration) throws(ProtocolError) {
        guard percent.isFinite, (0...1000).contains(percent) else {
            throw ProtocolError(field: "percent", "must be between 0 and 1000, got \(percent)")
        }
        guard (0...100_000).contains(minimumRetriesPerSecond) else {
            throw ProtocolError(
                field: "min_retries_per_second", "must be between 0 and 100000, got \(minimumRetriesPerSecond)")
        }
        try window.check(in: .seconds(1)...WeftDuration.seconds(60), field: "window")
        self.percent = percent
        self.minimumRetriesPerSecond = minimumRetriesPerSecond
        self.window = window
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["percent", "min_retries_per_second", "window"])
        let percent: Double = try object.optional("percent", default: Self.default.percent)
        let minimum: Int = try object.optional("min_retries_per_second", default: Self.default.minimumRetriesPerSecond)
        let window: WeftDuration = try object.optional("window", default: Self.default.window)
        self = try object.validate { () throws(ProtocolError) in
            try RetryBudget(percent: percent, minimumRetriesPerSecond: minimum, window: window)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(percent, "percent")
        try object.encode(minimumRetriesPerSecond, "min_retries_per_second")
        try object.encode(window, "window")
    }
}
