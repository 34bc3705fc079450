import Foundation
import Testing
import WeftTestSupport

/// A gateway configured by a real weft-registry (on a real PostgreSQL): its route
/// table and the instances the routes reach come through the discovery API, and
/// a change an operator makes over the admin API reaches it without a restart;
/// a table the registry cannot validate never reaches it.
@Suite(.serialized) struct GatewayDiscoveryTests {
    static func table(firmware1: String) -> String {
        """
        {"routes": [
          {"name": "firmware-1", "match": {"headers": [{"name": "x-firmware-version", "version": "1.x"}]},
           "destinations": [{"service": "payments", "subset": {"version": "\(firmware1)"}}]}
        ]}
        """
    }

    @Test func theGatewayFollowsItsRouteTableInTheRegistry() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let registry = try mesh.startRegistry(postgres)
            #expect(try registry.call("POST", "/v1/services", #"{"name":"payments"}"#).0 == 201)
            // Two versions of payments, each an echo behind its sidecar, allowing the gateway.
            let allowEdge = try mesh.snapshot(
                "payments.json", intentions: [(MeshFixture.identity("edge"), "payments", "allow")])
            for version in ["v1", "v2"] {
                let echo = try mesh.startEcho(name: "payments-\(version)")
                let sidecar = try mesh.startSidecar("payments", app: echo, snapshot: allowEdge)
                let instance = """
                    {"id": "p-\(version)", "service": "payments", "address": "127.0.0.1", "port": \(sidecar.inbound),
                     "labels": {"version": "\(version)"}, "ttl": "600s"}
                    """
                #expect(try registry.call("PUT", "/v1/instances/default/payments/p-\(version)", instance).0 == 200)
            }
            let put = try registry.call("PUT", "/v1/routes/gateways/default/edge", Self.table(firmware1: "v1"))
            #expect([200, 201].contains(put.0), "\(put)")

            // First start: no snapshot kept, so the gateway asks the registry.
            let kept = mesh.scratch.file("edge-kept.json")
            let gateway = try mesh.startGateway(
                "edge", snapshot: kept,
                extra: [
                    "--registry", "http://127.0.0.1:\(registry.port)", "--registry-token-file", registry.adminTokenFile,
                ])
            func served() -> String {
                let result = try? Command.curl([
                    "-s", "-D", "-", "-o", "/dev/null", "-H", "x-firmware-version: 1.3.0",
                    "http://127.0.0.1:\(gateway.http)/pay",
                ])
                let line = result?.output.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-echo-name:") }
                return line.map { String($0.dropFirst("x-echo-name:".count)).trimmingCharacters(in: .whitespaces) }
                    ?? ""
            }
            #expect(served() == "payments-v1", "\(gateway.process.output)")
            #expect(FileManager.default.fileExists(atPath: kept))

            // The operator moves firmware 1 to v2: applied live.
            _ = try registry.call("PUT", "/v1/routes/gateways/default/edge", Self.table(firmware1: "v2"))
            Command.eventually { served() == "payments-v2" }
            #expect(served() == "payments-v2", "\(gateway.process.output)")

            // A table the registry refuses never reaches the gateway.
            let invalid = try registry.call(
                "PUT", "/v1/routes/gateways/default/edge",
                #"{"routes": [{"name": "x", "match": {"headers": [{"name": "x-firmware-version", "version": ">=3 <2"}]}, "destinations": [{"service": "payments"}]}]}"#
            )
            #expect(invalid.0 == 400, "\(invalid)")
            #expect(invalid.1.contains("version"), "\(invalid.1)")
            #expect(served() == "payments-v2")

            // The registry goes away: the gateway keeps routing on what it has,
            // and a restart starts from the kept snapshot.
            registry.process.signal(SIGTERM)
            _ = registry.process.stop(grace: 5)
            #expect(served() == "payments-v2")
            gateway.process.signal(SIGTERM)
            _ = gateway.process.stop(grace: 8)
            let restarted = try mesh.startGateway(
                "edge", snapshot: kept,
                extra: [
                    "--registry", "http://127.0.0.1:\(registry.port)", "--registry-token-file", registry.adminTokenFile,
                ])
            let again = try Command.curl([
                "-s", "-D", "-", "-o", "/dev/null", "-H", "x-firmware-version: 1.3.0",
                "http://127.0.0.1:\(restarted.http)/pay",
            ])
            #expect(again.output.lowercased().contains("x-echo-name: payments-v2"), "\(again.output)")
        }
    }
}
