import Testing
import WeftHTTP2
import WeftProtocol

@testable import WeftProxy

/// The inbound rewrite without a channel: authorization, the caller's identity,
/// forwarding headers and trace context.
struct InboundRequestPolicyTests {
    static let caller = try! SPIFFEID(validating: "spiffe://weft.local/ns/default/sa/frontend")
    static let request = [
        HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "http"), HTTP2Header(":authority", "backend"),
        HTTP2Header(":path", "/"),
    ]

    static func snapshot(allowing source: String?) throws -> ProxySnapshot {
        let intentions =
            source.map {
                #"[{"source": "\#($0)", "destination": "backend", "action": "allow"}]"#
            } ?? "[]"
        let json = #"{"version": 1, "generated_at": "2026-11-27T00:00:00Z", "inbound_intentions": \#(intentions)}"#
        return ProxySnapshot(try WeftJSON.decode(DiscoverySnapshot.self, from: json))
    }

    @Test func generatedTraceParentsAreValidAndDistinct() {
        let generator = TraceIDGenerator()
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let value = generator.traceParent()
            #expect(InboundRequestPolicy.isValidTraceParent(value), "\(value)")
            seen.insert(value)
        }
        #expect(seen.count == 10_000)
    }

    @Test func theRewriteOverwritesIdentityAndRepairsTraceContext() throws {
        let policy = InboundRequestPolicy(service: ServiceReference(service: try ServiceName(validating: "backend")))
        let snapshot = try Self.snapshot(allowing: Self.caller.description)
        let valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        // (incoming trace header, whether it survives)
        let cases: [(String?, Bool)] = [(valid, true), (nil, false), ("00-zz-bad-01", false)]
        for (trace, kept) in cases {
            var headers = Self.request + [HTTP2Header(WeftHeaders.callerIdentity, "spiffe://weft.local/ns/x/sa/forged")]
            if let trace { headers.append(HTTP2Header(WeftHeaders.traceParent, trace)) }
            let result = try policy.prepare(
                headers, caller: Self.caller, peerAddress: "10.0.0.7", snapshot: snapshot,
                traceIDs: TraceIDGenerator()
            ).get()
            #expect(
                result.filter { $0.name == WeftHeaders.callerIdentity }.map { $0.value } == [Self.caller.description])
            #expect(result[first: "x-forwarded-for"] == "10.0.0.7")
            let out = result.filter { $0.name == WeftHeaders.traceParent }.map { $0.value }
            #expect(out.count == 1 && InboundRequestPolicy.isValidTraceParent(out[0]))
            #expect((out.first == valid) == kept, "\(trace ?? "none") → \(out)")
        }
    }

    @Test func anUnlistedCallerIsDeniedByDefault() throws {
        let policy = InboundRequestPolicy(service: ServiceReference(service: try ServiceName(validating: "backend")))
        let result = policy.prepare(
            Self.request, caller: Self.caller, peerAddress: nil, snapshot: try Self.snapshot(allowing: nil),
            traceIDs: TraceIDGenerator())
        guard case .failure(let error) = result else {
            Issue.record("allowed: \(result)")
            return
        }
        #expect(error.status.code == 403)
    }
}

extension InboundRequestPolicyTests {
    /// The snapshot finds a caller's intentions through an index by source; it
    /// must decide exactly as a walk of every intention in order would.
    @Test func theIntentionIndexDecidesAsAWalkOfEveryIntention() throws {
        var random = FastRandom(seed: 21)
        let services = ["a", "b", "c", "d"]
        let namespaces = ["default", "shop"]
        for _ in 0..<20 {
            var intentions: [Intention] = []
            for _ in 0..<random.below(40) {
                let source: IdentityPattern
                switch random.below(3) {
                case 0: source = .any
                case 1:
                    source = .namespace(
                        trustDomain: "weft.local", namespace: try NamespaceName(validating: namespaces[random.below(2)])
                    )
                default:
                    source = .exact(
                        try SPIFFEID(
                            validating:
                                "spiffe://weft.local/ns/\(namespaces[random.below(2)])/sa/\(services[random.below(4)])")
                    )
                }
                let methods: [HTTPMethod] = random.below(2) == 0 ? [] : [try HTTPMethod(validating: "GET")]
                let path: PathMatch? = random.below(2) == 0 ? nil : .prefix("/p\(random.below(2))")
                intentions.append(
                    try Intention(
                        source: source, destination: try ServiceName(validating: "backend"),
                        action: random.below(2) == 0 ? .allow : .deny, methods: methods, path: path))
            }
            let snapshot = ProxySnapshot(
                try DiscoverySnapshot(
                    version: 1, generatedAt: Timestamp(secondsSinceEpoch: 0), inboundIntentions: intentions))
            for _ in 0..<50 {
                let caller = try SPIFFEID(
                    validating: "spiffe://weft.local/ns/\(namespaces[random.below(2)])/sa/\(services[random.below(4)])")
                let method: Substring = random.below(2) == 0 ? "GET" : "POST"
                let path: Substring = random.below(2) == 0 ? "/p0/x" : "/p1"
                let walked = snapshot.inboundIntentions.first { $0.applies(to: caller, method: method, path: path) }
                let verdict = snapshot.authorize(caller: caller, method: method, path: path)
                #expect(verdict.action == (walked?.action ?? snapshot.defaults.defaultAction))
                #expect(verdict.rule == (walked?.source.description ?? "mesh default"))
            }
        }
    }
}
