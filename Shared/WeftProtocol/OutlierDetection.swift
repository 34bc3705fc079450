/// Ejects endpoints that keep failing: after `consecutive_errors` gateway errors
/// (502/503/504, connect failures, resets) an endpoint leaves the balancer for
/// `base_ejection_time` × the number of times it has been ejected, but never more
/// than `max_ejection_percent` of a service's endpoints at once, so detection cannot
/// empty a service.
public struct OutlierDetection: Codable, Hashable, Sendable {
    public var consecutiveErrors: Int
    public var interval: WeftDuration
    public var baseEjectionTime: WeftDuration
    public var maximumEjectionPercent: Int

    public static let `default` = try! OutlierDetection(
        consecutiveErrors: 5, interval: .seconds(10), baseEjectionTime: .seconds(30), maximumEjectionPercent: 50)

    public init(
        consecutiveErrors: Int, interval: WeftDuration, baseEjectionTime: WeftDuration, maximumEjectionPercent: Int
    ) throws(ProtocolError) {
        guard (1...1000).contains(consecutiveErrors) else {
            throw ProtocolError(field: "consecutive_errors", "must be between 1 and 1000, got \(consecutiveErrors)")
        }
        try interval.check(in: .milliseconds(100)...WeftDuration.seconds(3600), field: "interval")
        try baseEjectionTime.check(in: .milliseconds(100)...WeftDuration.seconds(3600), field: "base_ejection_time")
        guard (0...100).contains(maximumEjectionPercent) else {
            throw ProtocolError(
                field: "max_ejection_percent", "must be between 0 and 100, got \(maximumEjectionPercent)")
        }
        self.consecutiveErrors = consecutiveErrors
        self.interval = interval
        self.baseEjectionTime = baseEjectionTime
        self.maximumEjectionPercent = maximumEjectionPercent
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder, fields: ["consecutive_errors", "interval", "base_ejection_time", "max_ejection_percent"])
        let d = Self.default
        let errors: Int = try object.optional("consecutive_errors", default: d.consecutiveErrors)
        let interval: WeftDuration = try object.optional("interval", default: d.interval)
        let base: WeftDuration = try object.optional("base_ejection_time", default: d.baseEjectionTime)
        let percent: Int = try object.optional("max_ejection_percent", default: d.maximumEjectionPercent)
        self = try object.validate { () throws(ProtocolError) in
            try OutlierDetection(
                consecutiveErrors: errors, interval: interval, baseEjectionTime: base, maximumEjectionPercent: percent)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(consecutiveErrors, "consecutive_errors")
        try object.encode(interval, "interval")
        try object.encode(baseEjectionTime, "base_ejection_time")
        try object.encode(maximumEjectionPercent, "max_ejection_percent")
    }
}
