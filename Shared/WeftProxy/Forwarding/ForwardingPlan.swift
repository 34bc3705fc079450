public import NIOCore
public import WeftHTTP2
public import WeftProtocol

/// Where one request goes and how, decided once by its pipeline (route, rewrite,
/// deadline, retry rules) before any attempt is made. `UpstreamCall` carries it
/// out: attempts, balancing, breakers, retries, the deadline.
public struct ForwardingPlan {
    public enum Target {
        /// A mesh service (or a label subset of it), with the loop's record of it.
        case mesh(ProxySnapshot.Upstream, UpstreamState)
        /// The application this sidecar fronts (h2c).
        case application
        /// Nowhere: the proxy answers itself (a redirect, a direct response).
        case local(LocalResponse)
    }

    public let loop: ProxyLoop
    public var target: Target
    /// The request's headers as the upstream receives them (before the deadline
    /// and attempt fields, which each attempt sets).
    public var headers: [HTTP2Header]
    /// The request had no body (END_STREAM on its headers).
    public var endStream: Bool
    public var method: String
    /// Nil: no retries (the application, a gateway route without them).
    public var retry: RetryRules?
    /// When the request must have its response by; nil: no deadline.
    public var deadline: NIODeadline?
    /// The deadline's length, for the 504's wording.
    public var timeout: TimeAmount?
    public var grpc: Bool
    /// The ring-hash key's hash, when the balancer hashes one and it is present.
    public var hashKey: UInt64?
    /// Fault injection's delay before the first attempt.
    public var delay: TimeAmount?
    /// Who is called, for error messages, metrics and the access log.
    public var name: String
    /// The route rule that took the request, if a route table did.
    public var route: String?
    /// Where a copy of the request goes (a route's mirror), fire and forget.
    public var mirror: ProxySnapshot.Upstream?
    /// Added to the response's head (the gateway's `x-weft-route`).
    public var responseHeaders: [HTTP2Header] = []
    /// The route's changes to the response's fields.
    public var responseEdits: HeaderEdits?

    /// A plan that answers `response` without forwarding.
    public static func answer(_ response: LocalResponse, loop: ProxyLoop, name: String, route: String? = nil)
        -> ForwardingPlan
    {
        var plan = ForwardingPlan(
            loop: loop, target: .local(response), headers: [], endStream: true, method: "", name: name, grpc: false)
        plan.route = route
        return plan
    }

    public init(
        loop: ProxyLoop, target: Target, headers: [HTTP2Header], endStream: Bool, method: String, name: String,
        grpc: Bool
    ) {
        self.loop = loop
        self.target = target
        self.headers = headers
        self.endStream = endStream
        self.method = method
        self.name = name
        self.grpc = grpc
    }

    /// The key a ring-hash balancer hashes for this request: the policy's
    /// header, or cookie, when present.
    public static func hashKey(_ policy: LoadBalancerPolicy, headers: [HTTP2Header]) -> UInt64? {
        guard case .ringHash(let key) = policy else { return nil }
        switch key {
        case .header(let name):
            return headers[first: name.rawValue].map { Balancer.hash($0) }
        case .cookie(let name):
            for header in headers where header.name == "cookie" {
                // `a=1; b=2`: the first pair of that name.
                for pair in header.value.split(separator: ";") {
                    let trimmed = pair.drop { $0 == " " }
                    guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
                    return Balancer.hash(trimmed[trimmed.index(after: equals)...])
                }
            }
            return nil
        }
    }
}

@available(*, unavailable)
extension ForwardingPlan: Sendable {}
