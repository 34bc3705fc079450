import NIOCore
import NIOHTTP1
import WeftHTTP2
import WeftProtocol
import WeftProxy

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The gateway's own admin endpoints, beside `/live`, `/ready` and `/metrics`:
///
/// - `GET /routes`: the route table the gateway runs on, as JSON, with the
///   snapshot version.
/// - `POST /routes/explain` with `{"method": "GET", "host": "api.example.com",
///   "path": "/v1/pay?x=1", "headers": {"x-firmware-version": "2.4.1"}}`: which
///   rule takes such a request and where it would go, and for every earlier rule
///   the first condition the request failed. Nothing is sent anywhere.
enum GatewayAdmin {
    static func respond(_ head: HTTPRequestHead, _ body: ByteBuffer, loops: ProxyLoops) -> AdminResponse? {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch (path, head.method) {
        case ("/routes", .GET):
            let snapshot = loops.snapshot
            let view = RoutesView(
                version: snapshot.version, routes: snapshot.gatewayRoutes.routes.map(\.rule))
            return json(.ok, view)
        case ("/routes/explain", .POST):
            return explain(body, snapshot: loops.snapshot)
        case ("/routes", _), ("/routes/explain", _):
            let allowed = path == "/routes" ? "GET" : "POST"
            return problem(.methodNotAllowed, "\(path) takes \(allowed)")
        default:
            return nil
        }
    }

    struct RoutesView: Encodable {
        var version: UInt64
        var routes: [RouteRule]
    }

    static func explain(_ body: ByteBuffer, snapshot: ProxySnapshot) -> AdminResponse {
        let query: RouteExplainQuery
        do {
            query = try WeftJSON.decode(
                RouteExplainQuery.self, from: Data(body.readableBytesView), maximumSize: 64 * 1024)
        } catch {
            return problem(.badRequest, "\(error)")
        }
        var headers = [
            HTTP2Header(":method", query.method), HTTP2Header(":scheme", "http"),
            HTTP2Header(":authority", query.host), HTTP2Header(":path", query.path),
        ]
        for (name, value) in query.headers.sorted(by: { $0.key < $1.key }) {
            headers.append(HTTP2Header(name.lowercased(), value))
        }
        let request = GatewayRequest(headers: headers)
        let verdicts = snapshot.gatewayRoutes.explain(request)
        var explanation = RouteExplanation(
            version: snapshot.version, matched: nil, destinations: [],
            rules: verdicts.map { route, mismatch in
                RouteExplanation.Verdict(
                    route: route.rule.name.description, matched: mismatch == nil,
                    reason: mismatch?.describe(route.rule, request))
            }, outcome: "404 no-route: no rule takes this request")
        guard let (route, mismatch) = verdicts.last, mismatch == nil else { return json(.ok, explanation) }
        explanation.matched = route.rule.name.description
        func pick(_ destination: GatewayRoutes.Destination, _ chosenBy: String) -> RouteExplanation.Pick {
            RouteExplanation.Pick(
                service: destination.upstream.reference.service.description,
                namespace: destination.upstream.reference.namespace.description,
                subset: destination.subset.values, weight: destination.weight,
                endpoints: destination.upstream.endpoints.count, chosenBy: chosenBy)
        }
        if let answer = RouteAnswer.response(for: route.rule, request: request, headers: headers) {
            let location = answer.headers.first { $0.name == "location" }.map { " to \($0.value)" } ?? ""
            explanation.outcome =
                "answered by the gateway: \(answer.status) \(route.rule.redirect != nil ? "redirect" : "direct response")\(location)"
            return json(.ok, explanation)
        }
        let chosen: [GatewayRoutes.Destination]
        if let sticky = route.rule.sticky, let value = request.value(of: sticky.header.rawValue),
            let destination = route.destination(for: request, random: StickySplit.bucket(of: value))
        {
            let bucket = StickySplit.bucket(of: value)
            chosen = [destination]
            explanation.destinations = [pick(destination, "sticky (\(sticky.header), bucket \(bucket) of 10000)")]
        } else if route.destinations.count == 1 {
            chosen = route.destinations
            explanation.destinations = [pick(route.destinations[0], "only destination")]
        } else {
            chosen = route.destinations.filter { $0.weight > 0 }
            explanation.destinations = chosen.map { pick($0, "random by weight") }
        }
        let endpoints = chosen.map(\.upstream.endpoints.count)
        explanation.outcome =
            endpoints.allSatisfy({ $0 == 0 })
            ? "503 no-endpoints: no destination has an endpoint receiving traffic"
            : endpoints.contains(0)
                ? "forwarded, except the share of destinations without endpoints (503 no-endpoints)"
                : "forwarded to the destination's endpoints"
        return json(.ok, explanation)
    }

    static func json(_ status: HTTPResponseStatus, _ value: some Encodable) -> AdminResponse {
        do {
            let data = try WeftJSON.encode(value, pretty: true)
            return AdminResponse(status, String(decoding: data, as: UTF8.self) + "\n")
        } catch {
            return problem(.internalServerError, "cannot encode the answer: \(error)")
        }
    }

    static func problem(_ status: HTTPResponseStatus, _ detail: String) -> AdminResponse {
        let problem = Problem(title: status.reasonPhrase, status: Int(status.code), detail: detail)
        let text = (try? WeftJSON.encode(problem)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return AdminResponse(status, contentType: "application/problem+json", text + "\n")
    }
}
