import Foundation
import Testing
import WeftProtocol

@Suite struct DiscoveryTests {
    static let snapshot = #"""
        {"version": 42, "generated_at": "2026-11-21T05:06:10Z",
         "defaults": {"default_action": "deny", "trust_domain": "weft.local"},
         "upstreams": [
           {"service": {"service": "catalog"}, "protocol": "http2",
            "endpoints": [{"instance": "c-1", "address": "10.0.0.5", "port": 9000, "labels": {"version": "3"}}],
            "policy": {"service": "catalog"},
            "routes": {"routes": [{"name": "all", "destinations": [{"service": "catalog"}]}]}}
         ],
         "inbound_intentions": [{"source": "*", "destination": "web", "action": "allow"}],
         "gateway_routes": {"routes": []}}
        """#

    @Test func snapshotsRoundTrip() throws {
        let snapshot = try expectRoundTrip(DiscoverySnapshot.self, Self.snapshot)
        #expect(snapshot.version == 42)
        #expect(snapshot.upstreams[0].endpoints[0].labels["version"] == "3")
    }

    @Test func snapshotsRefuseInconsistentContent() {
        expectRejected(
            DiscoverySnapshot.self,
            Self.snapshot.replacingOccurrences(
                of: #""policy": {"service": "catalog"}"#, with: #""policy": {"service": "other"}"#),
            path: "upstreams[0].policy", reason: "is for default/other, not default/catalog")
        expectRejected(
            DiscoverySnapshot.self,
            Self.snapshot.replacingOccurrences(of: #""version": 42"#, with: #""version": -1"#),
            path: "version", reason: "is out of range")
        expectRejected(
            DiscoverySnapshot.self,
            Self.snapshot.replacingOccurrences(of: #""port": 9000"#, with: #""port": 0"#),
            path: "upstreams[0].endpoints[0].port", reason: "between 1 and 65535")
    }

    @Test func proxiesCanReadSnapshotsFromANewerRegistry() throws {
        let newer = Self.snapshot.replacingOccurrences(
            of: #""version": 42"#, with: #""version": 42, "shiny_new_feature": {"on": true}"#)
        expectRejected(DiscoverySnapshot.self, newer, path: "shiny_new_feature", reason: "unknown field")
        let snapshot = try WeftJSON.decode(DiscoverySnapshot.self, from: Data(newer.utf8), unknownFields: .ignore)
        #expect(snapshot.version == 42)
    }

    @Test func requestsAreScopedAndBounded() throws {
        try expectRoundTrip(
            DiscoveryRequest.self,
            #"{"kind": "sidecar", "service": {"service": "web"}, "upstreams": [{"service": "catalog"}, {"service": "cart", "namespace": "shop"}]}"#
        )
        expectRejected(
            DiscoveryRequest.self, #"{"kind": "mesh", "service": {"service": "web"}}"#, path: "kind",
            reason: "expected sidecar or gateway")
        expectRejected(
            DiscoveryRequest.self,
            #"{"kind": "sidecar", "service": {"service": "web"}, "upstreams": [{"service": "a"}, {"service": "a"}]}"#,
            path: "upstreams", reason: "lists a service twice")
        let many = (0..<257).map { #"{"service": "s\#($0)"}"# }.joined(separator: ",")
        expectRejected(
            DiscoveryRequest.self, #"{"kind": "gateway", "service": {"service": "edge"}, "upstreams": [\#(many)]}"#,
            path: "upstreams", reason: "the limit is 256")
    }

    @Test func blockingQueryParametersAreStrict() throws {
        let query = try DiscoveryQuery(parameters: [("index", "17"), ("wait", "45s")])
        #expect(query.index == 17 && query.wait == .seconds(45))
        #expect(try DiscoveryQuery(parameters: []).wait == .seconds(30))
        for (parameters, expected) in [
            ([("index", "-1")], "index: must be a non-negative integer"),
            ([("index", "abc")], "index: must be a non-negative integer"),
            ([("wait", "10m")], "wait: must be between 0s and 5m"),
            ([("wait", "10")], "wait: invalid duration"),
            ([("wiat", "10s")], "wiat: unknown query parameter"),
            ([("index", "1"), ("index", "2")], "index: given twice"),
        ] as [([(String, String)], String)] {
            #expect(throws: ProtocolError.self) {
                try DiscoveryQuery(parameters: parameters.map { (name: $0.0, value: $0.1) })
            }
            do {
                _ = try DiscoveryQuery(parameters: parameters.map { (name: $0.0, value: $0.1) })
            } catch {
                #expect(error.description.hasPrefix(expected), "\(error)")
            }
        }
    }
}
