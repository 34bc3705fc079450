import Foundation
import Testing
import WeftProtocol

@Suite struct CatalogTests {
    static let instance = #"""
        {"id": "api-7f9c:8080", "service": "api", "namespace": "shop", "address": "10.1.2.3", "port": 8080,
         "zone": "eu-west-1a", "labels": {"version": "2.1.0", "terminal-type": "kiosk", "firmware": "3.4.1"},
         "health": "passing", "ttl": "15s"}
        """#

    @Test func instancesDecodeAndRoundTrip() throws {
        let instance = try expectRoundTrip(Instance.self, Self.instance)
        #expect(instance.port == 8080)
        #expect(instance.labels["firmware"] == "3.4.1")
        #expect(instance.reference.description == "shop/api")
    }

    @Test(arguments: [
        (#""port": 8080"#, #""port": 0"#, "port", "between 1 and 65535"),
        (#""port": 8080"#, #""port": 70000"#, "port", "between 1 and 65535"),
        (#""address": "10.1.2.3""#, #""address": "10.1.2.300""#, "address", "not a valid IPv4 address"),
        (#""health": "passing""#, #""health": "ok""#, "health", "unknown health state"),
        (#""ttl": "15s""#, #""ttl": "1s""#, "ttl", "between 5s and 10m"),
        (#""ttl": "15s""#, #""ttl": "1h""#, "ttl", "between 5s and 10m"),
        (#""zone": "eu-west-1a""#, #""zone": "EU West""#, "zone", "invalid zone"),
        (#""id": "api-7f9c:8080""#, #""id": "api 1""#, "id", "may hold only"),
        (#""firmware": "3.4.1""#, #""Firmware": "3.4.1""#, "labels.Firmware", "invalid label key"),
        (#""namespace": "shop""#, #""namespace": """#, "namespace", "must not be empty"),
    ])
    func instancesRefuseBadFields(replace: String, with: String, path: String, reason: String) {
        #expect(Self.instance.contains(replace))
        expectRejected(
            Instance.self, Self.instance.replacingOccurrences(of: replace, with: with), path: path, reason: reason)
    }

    @Test func heartbeatsCarryOnlyTheInstancesOwnHealth() throws {
        #expect(try expectRoundTrip(Heartbeat.self, "{}").health == nil)
        #expect(try expectRoundTrip(Heartbeat.self, #"{"health": "warning"}"#).health == .warning)
        expectRejected(Heartbeat.self, #"{"health": "maintenance"}"#, path: "health", reason: "set by an operator")
        expectRejected(Heartbeat.self, #"{"health": "tired"}"#, path: "health", reason: "unknown health state")
        expectRejected(Heartbeat.self, #"{"ttl": "30s"}"#, path: "ttl", reason: "unknown field")
    }

    @Test func listenAddressesTakeHostAndPort() throws {
        #expect(try ListenAddress(validating: "0.0.0.0:8500") == ListenAddress(host: "0.0.0.0", port: 8500))
        #expect(try ListenAddress(validating: "[::1]:0").description == "[::1]:0")
        for bad in ["8500", ":8500", "host:", "host:65536", "host:-1", ""] {
            #expect(throws: ProtocolError.self, "\(bad)") { try ListenAddress(validating: bad) }
        }
    }

    @Test func servicesDefaultTheirNamespaceAndProtocol() throws {
        let service = try expectRoundTrip(Service.self, #"{"name": "api"}"#)
        #expect(service.namespace == .default)
        #expect(service.protocolKind == .http)
        expectRejected(
            Service.self, #"{"name": "api", "protocol": "udp"}"#, path: "protocol",
            reason: "expected one of http, http2, grpc, tcp")
    }

    @Test func onlyHealthyInstancesBecomeEndpoints() throws {
        var instance = try WeftJSON.decode(Instance.self, from: Self.instance)
        #expect(Endpoint(instance)?.port == 8080)
        instance.health = .warning
        #expect(Endpoint(instance) != nil)
        instance.health = .critical
        #expect(Endpoint(instance) == nil)
        instance.health = .maintenance
        #expect(Endpoint(instance) == nil)
    }

    @Test func endpointsRefuseUnhealthyStatesAndBadWeights() throws {
        let base = #"{"instance": "i-1", "address": "::1", "port": 9000, "weight": 1}"#
        try expectRoundTrip(Endpoint.self, base)
        expectRejected(
            Endpoint.self, base.replacingOccurrences(of: #""weight": 1"#, with: #""weight": 0"#), path: "weight",
            reason: "between 1 and 128")
        expectRejected(
            Endpoint.self, base.replacingOccurrences(of: #""weight": 1"#, with: #""health": "critical""#),
            path: "health", reason: "must be passing or warning")
    }
}
