// Measures the gateway's route matching per request: building the routing view
// of a request from its header list, finding the first rule that takes it, and
// picking its destination, against tables of 10, 100 and 1,000 rules. Run
// through Benchmarks/gateway-routing.sh (release build).
//
// Two shapes of table:
// - "by path": each rule has its own path prefix (and host, terminal type and
//   firmware range); most rules fail at their path, as in an API gateway.
// - "same path": every rule shares host and path and differs only in its
//   firmware range and terminal type, so every rule reads the headers: the
//   worst case for a first-match table.
// The request matches the last rule (every earlier one is tried).
import Foundation
import WeftHTTP2
import WeftProtocol
import WeftProxy

@inline(never)
func nanosecondsPerOperation(seconds: Double = 1.0, _ body: () -> Int) -> Double {
    var sink = 0
    for _ in 0..<100 { sink &+= body() }
    let clock = ContinuousClock()
    var iterations = 0
    let start = clock.now
    let budget = Duration.milliseconds(Int(seconds * 1000))
    while clock.now - start < budget {
        for _ in 0..<100 { sink &+= body() }
        iterations += 100
    }
    let elapsed = clock.now - start
    if sink == -1 { print("") }
    let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    return nanoseconds / Double(iterations)
}

func snapshot(rules count: Int, samePath: Bool) throws -> ProxySnapshot {
    var routes: [String] = []
    for index in 0..<count {
        let path = samePath ? "/v1/pay" : "/v1/svc\(index)"
        let major = index % 50
        routes.append(
            """
            {"name": "r\(index)", "match": {"hosts": ["api.pos.example"], "path": {"prefix": "\(path)"},
              "headers": [{"name": "x-terminal-type", "exact": "type\(index % 7)"},
                          {"name": "x-firmware-version", "version": ">=\(major).\(index / 50).0 <\(major).\(index / 50 + 1).0"}]},
             "destinations": [{"service": "payments", "subset": {"version": "v1"}, "weight": 90},
                              {"service": "payments", "subset": {"version": "v2"}, "weight": 10}],
             "sticky": {"header": "x-terminal-id"}}
            """)
    }
    let text = """
        {"version": 1, "generated_at": "2026-11-28T00:00:00Z",
         "upstreams": [{"service": {"service": "payments"}, "endpoints": [
           {"instance": "a", "address": "10.0.0.1", "port": 15443, "labels": {"version": "v1"}},
           {"instance": "b", "address": "10.0.0.2", "port": 15443, "labels": {"version": "v2"}}]}],
         "gateway_routes": {"routes": [\(routes.joined(separator: ","))]}}
        """
    return ProxySnapshot(try WeftJSON.decode(DiscoverySnapshot.self, from: Data(text.utf8), maximumSize: 64 << 20))
}

func request(forLastOf count: Int, samePath: Bool) -> [HTTP2Header] {
    let last = count - 1
    return [
        HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "https"),
        HTTP2Header(":authority", "api.pos.example"),
        HTTP2Header(":path", (samePath ? "/v1/pay" : "/v1/svc\(last)") + "/authorize?amount=1250"),
        HTTP2Header("user-agent", "pos-terminal/3.2"), HTTP2Header("accept", "application/json"),
        HTTP2Header("content-type", "application/json"), HTTP2Header("content-length", "184"),
        HTTP2Header("x-terminal-id", "POS-004211"), HTTP2Header("x-terminal-type", "type\(last % 7)"),
        HTTP2Header("x-firmware-version", "\(last % 50).\(last / 50).3"),
        HTTP2Header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    ]
}

print("| table | rules in table | ns per request (view + match + destination) |")
print("| --- | --- | --- |")
for samePath in [false, true] {
    for count in [10, 100, 1000] {
        let routes = try snapshot(rules: count, samePath: samePath).gatewayRoutes
        let headers = request(forLastOf: count, samePath: samePath)
        guard let matched = routes.match(GatewayRequest(headers: headers)),
            matched.rule.name.description == "r\(count - 1)"
        else {
            fatalError("the request does not match the last rule of \(count)")
        }
        let ns = nanosecondsPerOperation {
            let request = GatewayRequest(headers: headers)
            guard let route = routes.match(request) else { return 0 }
            return route.destination(for: request, random: 42)?.weight ?? 0
        }
        print("| \(count) rules, \(samePath ? "same path" : "by path") | \(count) | \(String(format: "%.0f", ns)) |")
    }
}
