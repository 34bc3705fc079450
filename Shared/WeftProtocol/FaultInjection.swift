/// Deliberate faults for resilience testing: delay a share of requests, abort a
/// share with a status. At least one of the two.
public struct FaultInjection: Codable, Hashable, Sendable {
    public struct Delay: Hashable, Sendable {
        public var duration: WeftDuration
        public var percent: Double
    }

    public struct Abort: Hashable, Sendable {
        public var status: Int
        public var percent: Double
    }

    public var delay: Delay?
    public var abort: Abort?

    public init(delay: Delay? = nil, abort: Abort? = nil) throws(ProtocolError) {
        guard delay != nil || abort != nil else { throw ProtocolError("give delay, abort or both") }
        if let delay {
            do {
                try delay.duration.check(in: .milliseconds(1)...WeftDuration.seconds(600), field: "duration")
                try Percent.validate(delay.percent, field: "percent")
            } catch {
                throw error.under(FieldPath([.key("delay")]))
            }
        }
        if let abort {
            guard (200...599).contains(abort.status) else {
                throw ProtocolError(
                    FieldPath([.key("abort"), .key("status")]),
                    "must be an HTTP status between 200 and 599, got \(abort.status)")
            }
            do {
                try Percent.validate(abort.percent, field: "percent")
            } catch {
                throw error.under(FieldPath([.key("abort")]))
            }
        }
        self.delay = delay
        self.abort = abort
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["delay", "abort"])
        let delay: DelayJSON? = try object.optional("delay")
        let abort: AbortJSON? = try object.optional("abort")
        self = try object.validate { () throws(ProtocolError) in
            try FaultInjection(
                delay: delay.map { Delay(duration: $0.duration, percent: $0.percent) },
                abort: abort.map { Abort(status: $0.status, percent: $0.percent) })
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        if let delay { try object.encode(DelayJSON(duration: delay.duration, percent: delay.percent), "delay") }
        if let abort { try object.encode(AbortJSON(status: abort.status, percent: abort.percent), "abort") }
    }

    private struct DelayJSON: Codable {
        var duration: WeftDuration
        var percent: Double
        init(duration: WeftDuration, percent: Double) {
            self.duration = duration
            self.percent = percent
        }
        init(from decoder: any Decoder) throws {
            let object = try JSONObject(decoder, fields: ["duration", "percent"])
            duration = try object.required("duration")
            percent = try object.optional("percent", default: 100)
        }
    }

    private struct AbortJSON: Codable {
        var status: Int
        var percent: Double
        init(status: Int, percent: Double) {
            self.status = status
            self.percent = percent
        }
        init(from decoder: any Decoder) throws {
            let object = try JSONObject(decoder, fields: ["status", "percent"])
            status = try object.required("status")
            percent = try object.optional("percent", default: 100)
        }
    }
}
