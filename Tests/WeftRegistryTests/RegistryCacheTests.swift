import Foundation
import Testing
import WeftProtocol

@testable import WeftRegistry

/// The cache assembles discovery answers from upstreams it encoded at earlier
/// versions: every answer must be byte for byte the snapshot encoded whole.
struct RegistryCacheTests {
    static func reference(_ name: String) throws -> ServiceReference {
        ServiceReference(service: try ServiceName(validating: name))
    }

    static func record(_ service: String, _ id: String, port: Int, version: UInt64) throws -> InstanceRecord {
        InstanceRecord(
            registered: try Instance(
                id: InstanceID(validating: id), service: ServiceName(validating: service),
                address: HostAddress(validating: "10.0.0.\(port % 250)"), port: port,
                labels: Labels(["version": "v\(port % 3)"])),
            reportedHealth: .passing, maintenance: false, registeredAt: Timestamp(secondsSinceEpoch: 1),
            expiresAt: Timestamp(secondsSinceEpoch: 2), expiredAt: nil, modifyVersion: version)
    }

    static func request(_ own: String, _ upstreams: [String]) throws -> DiscoveryRequest {
        try WeftJSON.decode(
            DiscoveryRequest.self,
            from:
                #"{"kind":"sidecar","service":{"service":"\#(own)"},"upstreams":[\#(upstreams.map { #"{"service":"\#($0)"}"# }.joined(separator: ","))]}"#
        )
    }

    static func whole(_ state: RegistryState, _ request: DiscoveryRequest) throws -> [UInt8] {
        Array(try WeftJSON.encode(try state.snapshot(for: request)))
    }

    @Test func answersEqualWholeEncodingsAcrossVersions() throws {
        let names = ["shared", "a", "b", "c"]
        var state = RegistryState(version: 1, loadedAt: Timestamp(secondsSinceEpoch: 1))
        for (index, name) in names.enumerated() {
            state.services[try Self.reference(name)] = Versioned(
                Service(name: try ServiceName(validating: name)), modifyVersion: 1)
            state.instances[try Self.reference(name)] = try (0..<(index + 2)).map {
                try Self.record(name, "\(name)-\($0)", port: 9000 + $0, version: 1)
            }
        }
        let requests = try [
            Self.request("a", ["shared", "b"]), Self.request("b", ["shared", "c", "a"]), Self.request("c", []),
            Self.request("x", ["shared", "missing"]),
        ]
        let cache = RegistryCache()
        #expect(cache.publish(state))
        for request in requests {
            #expect(try cache.encodedSnapshot(request, at: state) == Self.whole(state, request))
        }

        // Version 2 changes `b`'s instances and says so: answers that cover `b`
        // change; the others keep the upstreams encoded at version 1.
        var next = state
        next.version = 2
        next.instances[try Self.reference("b")]?.append(try Self.record("b", "b-9", port: 9009, version: 2))
        next.changes = StateChanges(everything: false, services: [try Self.reference("b")])
        #expect(cache.publish(next))
        for request in requests {
            #expect(try cache.encodedSnapshot(request, at: next) == Self.whole(next, request))
        }

        // Version 3 adds a route table to `c` that reaches `shared`, and a policy.
        var third = next
        third.version = 3
        third.serviceRoutes[try Self.reference("c")] = Versioned(
            try WeftJSON.decode(
                RouteTable.self, from: #"{"routes":[{"name":"r","destinations":[{"service":"shared"}]}]}"#),
            modifyVersion: 3)
        third.policies[try Self.reference("shared")] = Versioned(
            try WeftJSON.decode(
                TrafficPolicy.self, from: #"{"service":"shared","load_balancer":{"type":"round_robin"}}"#),
            modifyVersion: 3)
        third.changes = StateChanges(
            everything: false, services: [try Self.reference("c"), try Self.reference("shared")],
            inbound: [try Self.reference("shared")])
        #expect(cache.publish(third))
        for request in requests {
            #expect(try cache.encodedSnapshot(request, at: third) == Self.whole(third, request))
        }
    }

    @Test func splicingNeedsTheTopLevelUpstreamsKey() throws {
        let spliced = try RegistryCache.splice(
            [Array(#"{"x":1}"#.utf8), Array(#"{"y":2}"#.utf8)],
            into: Array(#"{"a":"\"upstreams\":[]","upstreams":[],"version":3}"#.utf8))
        #expect(
            String(decoding: spliced, as: UTF8.self)
                == #"{"a":"\"upstreams\":[]","upstreams":[{"x":1},{"y":2}],"version":3}"#)
        #expect(throws: ProtocolError.self) { try RegistryCache.splice([], into: Array(#"{"version":3}"#.utf8)) }
    }
}
