import NIOCore
public import WeftHTTP2
public import WeftProtocol

/// Turns a request bound for a mesh service into a `ForwardingPlan`: the
/// outbound side's and the gateway's shared tier between "which service" and
/// "which endpoint" (linkerd2-proxy's logical → concrete step), in this order:
///
/// 1. **Service routes** (outbound only; the gateway's own table already chose):
///    the service's route table may shift the request to a label subset or
///    another service by headers, path and weights, and rewrite it.
/// 2. **Rate limit** of the rule: a token per request from the bucket of its
///    `key_header`'s value (one per terminal, say); none left is 429.
/// 3. **Fault injection** of the rule: abort at once with its status, or delay
///    the first attempt.
/// 4. **Deadline**: the rule's timeout, else the service's `timeouts.request`,
///    shortened to what the caller asked (`x-weft-deadline-ms`, `grpc-timeout`);
///    a request whose deadline has passed is refused 504 here.
/// 5. **Retries**: the rule's policy (which marks its route retryable), else the
///    default (refusals and gRPC UNAVAILABLE on idempotent calls, two retries).
/// 6. **Balancing key** for ring hash, and the loop's record of the service
///    (`UpstreamState`) where breakers, budget and endpoints live.
/// 7. **Mirror**: the rule's share of requests is copied to another service
///    (`UpstreamCall` sends the copy once the request is whole).
/// 8. **Response headers**: the rule's changes, made to the response's head.
///
/// A rule that answers by itself (`redirect`, `direct_response`) stops after
/// its rate limit (`answer`): nothing is forwarded.
public enum MeshRequestPlanner {
    /// A request an application sent to `upstream`.
    public static func outbound(
        _ headers: [HTTP2Header], endStream: Bool, upstream: ProxySnapshot.Upstream, loop: ProxyLoop
    ) -> Result<ForwardingPlan, ProxyError> {
        var headers = headers
        // The trace starts here when the application started none, so the
        // caller's and the callee's records of the call share it.
        if headers[first: WeftHeaders.traceParent] == nil {
            headers.append(HTTP2Header(WeftHeaders.traceParent, loop.traceIDs.traceParent()))
        }
        var destination = upstream
        var rule: RouteRule?
        if let routes = loop.snapshot.serviceRoutes[upstream.reference] {
            let request = GatewayRequest(headers: headers)
            if let route = routes.match(request) {
                rule = route.rule
                guard let chosen = route.destination(for: request, random: loop.random.below(10_000)) else {
                    return answer(headers, request: request, rule: route.rule, loop: loop)
                }
                destination = chosen.upstream
                if route.rule.rewrite != nil { headers = rewritten(headers, request: request, rule: route.rule) }
            }
        }
        return plan(headers, endStream: endStream, destination: destination, rule: rule, loop: loop)
    }

    /// A request taken by a rule that answers by itself (a redirect, a direct
    /// response), within the rule's rate limit.
    public static func answer(
        _ headers: [HTTP2Header], request: GatewayRequest, rule: RouteRule, loop: ProxyLoop
    ) -> Result<ForwardingPlan, ProxyError> {
        if let refusal = rateLimited(headers, rule: rule, loop: loop) { return .failure(refusal) }
        guard var response = RouteAnswer.response(for: rule, request: request, headers: headers) else {
            return .failure(.noRoute("route \(rule.name) has no destination"))
        }
        if let edits = rule.responseHeaders { response.headers = edits.apply(to: response.headers) }
        return .success(.answer(response, loop: loop, name: "local", route: rule.name.rawValue))
    }

    /// The rule's rate limit, when it is spent: 429 with when to try again.
    static func rateLimited(_ headers: [HTTP2Header], rule: RouteRule, loop: ProxyLoop) -> ProxyError? {
        guard let limit = rule.rateLimit else { return nil }
        let key = limit.keyHeader.flatMap { headers[first: $0.rawValue] } ?? ""
        guard let wait = loop.routeRateLimit(rule.name.rawValue, limit: limit, key: key) else { return nil }
        loop.metrics.recordPolicy(.rateLimited)
        let whose = limit.keyHeader.map { " for this \($0.rawValue)" } ?? ""
        return .rateLimited("route \(rule.name) is over its rate limit\(whose)", retryAfter: wait)
    }

    /// A request routed to `destination` by `rule` (nil: the service as a whole).
    public static func plan(
        _ headers: [HTTP2Header], endStream: Bool, destination: ProxySnapshot.Upstream, rule: RouteRule?,
        loop: ProxyLoop
    ) -> Result<ForwardingPlan, ProxyError> {
        if let rule, let refusal = rateLimited(headers, rule: rule, loop: loop) { return .failure(refusal) }
        var delay: TimeAmount?
        if let fault = rule?.fault {
            if let abort = fault.abort, loop.random.unit() * 100 < abort.percent {
                loop.metrics.recordPolicy(.faultInjected)
                return .failure(.faultInjected(status: abort.status))
            }
            if let injected = fault.delay, loop.random.unit() * 100 < injected.percent {
                loop.metrics.recordPolicy(.faultInjected)
                delay = injected.duration.timeAmount
            }
        }
        let policy = destination.policy
        var timeout = rule?.timeout?.timeAmount ?? policy.timeouts.request.timeAmount
        if let requested = Deadline.requested(in: headers) {
            guard requested > .zero else {
                loop.metrics.recordPolicy(.deadlineExceeded)
                return .failure(.deadlineExceeded("the request's deadline had passed when it reached this proxy"))
            }
            timeout = min(timeout, requested)
        }
        let method = headers[first: ":method"] ?? "GET"
        var plan = ForwardingPlan(
            loop: loop, target: .mesh(destination, loop.state(for: destination)), headers: headers,
            endStream: endStream, method: method, name: destination.name,
            grpc: ProxyErrorResponse.isGRPC(contentType: headers[first: "content-type"]))
        plan.retry = RetryRules(policy: rule?.retries ?? .default, explicit: rule?.retries != nil)
        plan.deadline = .now() + timeout
        plan.timeout = timeout
        plan.delay = delay
        plan.hashKey = ForwardingPlan.hashKey(policy.loadBalancer, headers: headers)
        plan.responseEdits = rule?.responseHeaders
        plan.route = rule?.name.rawValue
        if let mirror = rule?.mirror, loop.random.unit() * 100 < mirror.percent {
            let reference = ServiceReference(service: mirror.service, namespace: mirror.namespace)
            plan.mirror = loop.snapshot.upstreams[reference]
        }
        return .success(plan)
    }

    /// A service route's rewrite: the path (whole, or the prefix it matched),
    /// the authority, headers set and removed.
    static func rewritten(_ headers: [HTTP2Header], request: GatewayRequest, rule: RouteRule) -> [HTTP2Header] {
        guard let rewrite = rule.rewrite else { return headers }
        var result: [HTTP2Header] = []
        result.reserveCapacity(headers.count + rewrite.setHeaders.count)
        for header in headers {
            switch header.name {
            case ":path":
                result.append(
                    HTTP2Header(
                        ":path", GatewayRequestPolicy.rewrittenPath(header.value, request: request, route: rule)))
            case ":authority":
                result.append(HTTP2Header(":authority", rewrite.host ?? header.value))
            default:
                if rewrite.setHeaders.keys.contains(where: { $0.rawValue == header.name })
                    || rewrite.removeHeaders.contains(where: { $0.rawValue == header.name })
                {
                    continue
                }
                result.append(header)
            }
        }
        for (name, value) in rewrite.setHeaders.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            result.append(HTTP2Header(name.rawValue, value))
        }
        for (name, value) in rewrite.addHeaders.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            result.append(HTTP2Header(name.rawValue, value))
        }
        return result
    }
}
