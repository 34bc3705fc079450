/// One rule of a route table: which requests it takes (`match`), where they go
/// (`destinations`, split by weight), and how (timeout, retries, rewrite, mirror,
/// fault injection, response headers). Tables are evaluated in order; the first
/// matching rule wins. Instead of destinations, a rule may answer by itself with
/// a `redirect` or a `direct_response`.
///
/// Rules checked across fields, each with its own error:
/// - destination weights sum to exactly 100; a lone destination may omit its weight,
///   but with several every weight must be given;
/// - no destination appears twice with the same subset;
/// - `rewrite.prefix` needs a `match.path.prefix` to replace;
/// - `retries.per_try_timeout` does not exceed `timeout`;
/// - `sticky` needs at least two destinations to split between;
/// - a rule has destinations, or a redirect, or a direct response: exactly one
///   of the three; one that answers by itself has no timeout, retries,
///   rewrite, mirror, fault or sticky split (nothing is forwarded for them to
///   act on), and a redirect's `prefix` needs a `match.path.prefix`.
public struct RouteRule: Codable, Hashable, Sendable {
    public var name: RouteName
    public var match: RouteMatch
    public var destinations: [RouteDestination]
    /// The whole request's deadline, retries included (1 ms to 1 h). Nil: the
    /// service's policy applies.
    public var timeout: WeftDuration?
    public var retries: RetryPolicy?
    public var rewrite: RouteRewrite?
    public var mirror: MirrorPolicy?
    public var fault: FaultInjection?
    /// Keeps each caller on one side of the split (see `StickySplit`); nil: each
    /// request is split at random.
    public var sticky: StickySplit?
    /// Token buckets for the route, per value of `key_header` when given.
    public var rateLimit: RateLimit?
    /// Answer with a redirect instead of forwarding.
    public var redirect: RouteRedirect?
    /// Answer with this response instead of forwarding.
    public var directResponse: DirectResponse?
    /// Changes to the response's fields, whoever answered.
    public var responseHeaders: HeaderEdits?

    /// Whether the rule answers by itself (a redirect or a direct response).
    public var answersItself: Bool { redirect != nil || directResponse != nil }

    public init(
        name: RouteName, match: RouteMatch = RouteMatch(), destinations: [RouteDestination],
        timeout: WeftDuration? = nil,
        retries: RetryPolicy? = nil, rewrite: RouteRewrite? = nil, mirror: MirrorPolicy? = nil,
        fault: FaultInjection? = nil, sticky: StickySplit? = nil, rateLimit: RateLimit? = nil,
        redirect: RouteRedirect? = nil, directResponse: DirectResponse? = nil, responseHeaders: HeaderEdits? = nil
    ) throws(ProtocolError) {
        if redirect != nil || directResponse != nil {
            if redirect != nil && directResponse != nil {
                throw ProtocolError(field: "direct_response", "give redirect or direct_response, not both")
            }
            guard destinations.isEmpty else {
                throw ProtocolError(
                    field: "destinations",
                    "must be left out when the route answers by itself (redirect, direct_response)")
            }
            let forwardingOnly: [(String, Bool)] = [
                ("timeout", timeout != nil), ("retries", retries != nil), ("rewrite", rewrite != nil),
                ("mirror", mirror != nil), ("fault", fault != nil), ("sticky", sticky != nil),
            ]
            if let (field, _) = forwardingOnly.first(where: { $0.1 }) {
                throw ProtocolError(
                    field: field, "has nothing to act on: the route answers by itself (redirect, direct_response)")
            }
            if redirect?.prefix != nil {
                guard case .prefix = match.path else {
                    throw ProtocolError(
                        FieldPath([.key("redirect"), .key("prefix")]), "needs match.path.prefix to replace")
                }
            }
        } else {
            guard !destinations.isEmpty else {
                throw ProtocolError(field: "destinations", "must not be empty (or give a redirect or direct_response)")
            }
        }
        guard destinations.count <= ProtocolLimits.destinationsPerRoute else {
            throw ProtocolError(
                field: "destinations",
                "has \(destinations.count) entries; the limit is \(ProtocolLimits.destinationsPerRoute)")
        }
        let total = destinations.reduce(0) { $0 + $1.weight }
        guard total == 100 || destinations.isEmpty else {
            throw ProtocolError(field: "destinations", "weights sum to \(total); they must sum to 100")
        }
        var seen = Set<RouteDestinationKey>()
        for (index, destination) in destinations.enumerated() {
            let key = RouteDestinationKey(reference: destination.reference, subset: destination.subset)
            guard seen.insert(key).inserted else {
                throw ProtocolError(
                    FieldPath([.key("destinations"), .index(index)]),
                    "repeats an earlier destination with the same subset; merge their weights")
            }
        }
        if let timeout { try timeout.check(in: .milliseconds(1)...WeftDuration.seconds(3600), field: "timeout") }
        if rewrite?.prefix != nil {
            guard case .prefix = match.path else {
                throw ProtocolError(FieldPath([.key("rewrite"), .key("prefix")]), "needs match.path.prefix to replace")
            }
        }
        if let timeout, let perTry = retries?.perTryTimeout, perTry > timeout {
            throw ProtocolError(
                FieldPath([.key("retries"), .key("per_try_timeout")]),
                "(\(perTry)) exceeds the route timeout (\(timeout))")
        }
        if sticky != nil && destinations.count < 2 {
            throw ProtocolError(field: "sticky", "needs at least two destinations to split between")
        }
        self.name = name
        self.match = match
        self.destinations = destinations
        self.timeout = timeout
        self.retries = retries
        self.rewrite = rewrite
        self.mirror = mirror
        self.fault = fault
        self.sticky = sticky
        self.rateLimit = rateLimit
        self.redirect = redirect
        self.directResponse = directResponse
        self.responseHeaders = responseHeaders
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder,
            fields: [
                "name", "match", "destinations", "timeout", "retries", "rewrite", "mirror", "fault", "sticky",
                "rate_limit", "redirect", "direct_response", "response_headers",
            ])
        let name: RouteName = try object.required("name")
        let match: RouteMatch = try object.optional("match", default: RouteMatch())
        let redirect: RouteRedirect? = try object.optional("redirect")
        let directResponse: DirectResponse? = try object.optional("direct_response")
        let responseHeaders: HeaderEdits? = try object.optional("response_headers")
        let decoded: [RouteDestination.Decoded] = try object.list(
            "destinations", limit: ProtocolLimits.destinationsPerRoute,
            required: redirect == nil && directResponse == nil)
        if decoded.count > 1, let missing = decoded.firstIndex(where: { !$0.weightGiven }) {
            throw ProtocolError(
                FieldPath(decoder.codingPath + [AnyKey("destinations")]).appending(.index(missing)).appending(
                    .key("weight")),
                "is required when a route has several destinations")
        }
        let destinations = decoded.map(\.destination)
        let timeout: WeftDuration? = try object.optional("timeout")
        let retries: RetryPolicy? = try object.optional("retries")
        let rewrite: RouteRewrite? = try object.optional("rewrite")
        let mirror: MirrorPolicy? = try object.optional("mirror")
        let fault: FaultInjection? = try object.optional("fault")
        let sticky: StickySplit? = try object.optional("sticky")
        let rateLimit: RateLimit? = try object.optional("rate_limit")
        self = try object.validate { () throws(ProtocolError) in
            try RouteRule(
                name: name, match: match, destinations: destinations, timeout: timeout, retries: retries,
                rewrite: rewrite, mirror: mirror, fault: fault, sticky: sticky, rateLimit: rateLimit,
                redirect: redirect, directResponse: directResponse, responseHeaders: responseHeaders)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(name, "name")
        try object.encode(match, "match")
        if !destinations.isEmpty { try object.encode(destinations, "destinations") }
        try object.encode(timeout, "timeout")
        try object.encode(retries, "retries")
        try object.encode(rewrite, "rewrite")
        try object.encode(mirror, "mirror")
        try object.encode(fault, "fault")
        try object.encode(sticky, "sticky")
        try object.encode(rateLimit, "rate_limit")
        try object.encode(redirect, "redirect")
        try object.encode(directResponse, "direct_response")
        if let responseHeaders, !responseHeaders.isEmpty { try object.encode(responseHeaders, "response_headers") }
    }

    private struct RouteDestinationKey: Hashable {
        var reference: ServiceReference
        var subset: Labels
    }
}
