import Foundation
import Testing
import WeftTestSupport

/// Two replicas in this process on one PostgreSQL: what one does, the other
/// honours, within the bounds the documentation gives.
@Suite struct RegistryReplicaTests {
    /// A credential deleted through one replica is refused there at once and,
    /// on the other (which had it cached), once its cache lifetime has run out:
    /// 30 s in production, 1 s here.
    @Test func aDeletedCredentialIsRefusedOnTheOtherReplica() async throws {
        try await TemporaryPostgres.with { postgres in
            let lifetime: Duration = .seconds(1)
            let first = try await RegistryHarness.start(postgres: postgres) { $0.credentialCacheLifetime = lifetime }
            let second = try await RegistryHarness.start(postgres: postgres) { $0.credentialCacheLifetime = lifetime }
            #expect(try await first.call("POST", "/v1/services", body: #"{"name":"payments"}"#).status == 201)
            let issued = try await first.call("POST", "/v1/services/default/payments/credentials")
            #expect(issued.status == 201)
            let secret = try #require(issued.json["secret"] as? String)
            let id = try #require(issued.json["id"] as? Int)
            let instance = #"{"id":"p-1","service":"payments","address":"10.0.0.9","port":80}"#
            #expect(
                try await second.call("PUT", "/v1/instances/default/payments/p-1", body: instance, token: secret).status
                    == 200)
            let beat = { (replica: RegistryHarness) in
                try await replica.call("PUT", "/v1/instances/default/payments/p-1/heartbeat", token: secret)
            }
            #expect(try await beat(second).status == 200, "the second replica now has the credential cached")

            #expect(try await first.call("DELETE", "/v1/services/default/payments/credentials/\(id)").status == 204)
            let refusedHere = try await beat(first)
            #expect(refusedHere.status == 401)
            #expect(refusedHere.header("Content-Type") == "application/problem+json")
            #expect(refusedHere.text.contains("not the admin token or a current service credential"))
            // Polled for ten times the cache's lifetime.
            var refusedThere: RegistryHarness.Reply?
            #expect(
                try await eventually(seconds: 10) {
                    let reply = try await beat(second)
                    if reply.status == 401 { refusedThere = reply }
                    return reply.status == 401
                })
            #expect(refusedThere?.text.contains("not the admin token or a current service credential") == true)
            // And it stays refused: nothing brings a deleted digest back.
            #expect(try await beat(second).status == 401)
            #expect(try await beat(first).status == 401)
            await first.stop()
            await second.stop()
        }
    }
}
