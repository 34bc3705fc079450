/// Time limits toward a service. `connect` bounds a TCP+TLS connection setup,
/// `request` a whole request including retries (Envoy's 15 s default), `idle` how
/// long an unused upstream connection is kept.
public struct TimeoutPolicy: Codable, Hashable, Sendable {
    public var connect: WeftDuration
    public var request: WeftDuration
    public var idle: WeftDuration

    public static let `default` = try! TimeoutPolicy(connect: .seconds(5), request: .seconds(15), idle: .seconds(300))

    public init(connect: WeftDuration, request: WeftDuration, idle: WeftDuration) throws(ProtocolError) {
        try connect.check(in: .milliseconds(10)...WeftDuration.seconds(60), field: "connect")
        try request.check(in: .milliseconds(1)...WeftDuration.seconds(3600), field: "request")
        try idle.check(in: .seconds(1)...WeftDuration.seconds(86400), field: "idle")
        self.connect = connect
        self.request = request
        self.idle = idle
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["connect", "request", "idle"])
        let d = Self.default
        let connect: WeftDuration = try object.optional("connect", default: d.connect)
        let request: WeftDuration = try object.optional("request", default: d.request)
        let idle: WeftDuration = try object.optional("idle", default: d.idle)
        self = try object.validate { () throws(ProtocolError) in
            try TimeoutPolicy(connect: connect, request: request, idle: idle)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(connect, "connect")
        try object.encode(request, "request")
        try object.encode(idle, "idle")
    }
}
