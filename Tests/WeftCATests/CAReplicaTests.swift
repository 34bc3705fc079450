import Foundation
import Testing
import WeftTestSupport

/// Two CA replicas on one database and one data directory, as replicas behind
/// one service share a volume: what one changes, the other serves.
@Suite struct CAReplicaTests {
    @Test func replicasFollowEachOthersRevocationsAndRoots() async throws {
        let first = try await CAHarness.start()
        let second: CAHarness
        do {
            second = try await CAHarness.start(sharing: first)
        } catch {
            await first.stop()
            throw error
        }
        do {
            try await Self.follow(first, second)
        } catch {
            await second.stop()
            await first.stop()
            throw error
        }
        await second.stop()
        await first.stop()
    }

    static func bundle(_ ca: CAHarness) async throws -> (version: Int, roots: Int, revoked: [String]) {
        let reply = try await ca.call("GET", "/v1/bundle", token: nil)
        return (
            reply.json["version"] as? Int ?? -1, (reply.json["roots"] as? [String])?.count ?? -1,
            reply.json["revoked_serials"] as? [String] ?? []
        )
    }

    static func follow(_ first: CAHarness, _ second: CAHarness) async throws {
        // Enrolled through one, renewed through the other: one ledger.
        let web = try await first.enroll("web")
        let (renewal, renewed) = try await second.renew(web)
        #expect(renewal.status == 200, "\(renewal.text)")
        let entry = try await first.call("GET", "/v1/certificates/\(renewed.serial)")
        #expect(entry.json["via"] as? String == "renewal" && entry.json["renewed_serial"] as? String == web.serial)

        // Revoked through the second: the first lists it in its bundle (same
        // version as the second's) and refuses to renew it.
        let revocation = try await second.call(
            "POST", "/v1/certificates/\(renewed.serial)/revoke", body: #"{"reason":"key compromise"}"#)
        #expect(revocation.status == 200, "\(revocation.text)")
        let revokedThere = try await bundle(second)
        #expect(revokedThere.revoked == [renewed.serial])
        var seen = try await bundle(first)
        #expect(
            try await eventually(seconds: 30) {
                seen = try await bundle(first)
                return seen.version == revokedThere.version
            }, "the first replica stayed at bundle version \(seen.version)")
        #expect(seen.revoked == [renewed.serial])
        let (refused, _) = try await first.renew(renewed)
        #expect(refused.status == 401 && refused.problemType == "certificate-rejected", "\(refused.text)")
        #expect(refused.detail == "certificate \(renewed.serial) has been revoked; get a new one with a join token")

        // A root introduced through the first is served by the second; activated
        // through the second, the first signs with it (the key is found in the
        // shared data directory).
        let introduced = try await first.call("POST", "/v1/roots")
        #expect(introduced.status == 201, "\(introduced.text)")
        let published = try await bundle(first)
        #expect(published.roots == 2)
        #expect(
            try await eventually(seconds: 30) { try await bundle(second).version >= published.version },
            "the second replica never served the new root")
        #expect(try await bundle(second).roots == 2)
        let activated = try await second.call("POST", "/v1/roots/2/activate")
        #expect(activated.status == 200 && activated.json["state"] as? String == "active", "\(activated.text)")
        let api = try await second.enroll("api")
        var generation = 0
        #expect(
            try await eventually(seconds: 30) {
                let (reply, renewedAPI) = try await first.renew(api)
                guard reply.status == 200 else { return false }
                let issued = try await first.call("GET", "/v1/certificates/\(renewedAPI.serial)")
                generation = issued.json["issuer_generation"] as? Int ?? 0
                return generation == 2
            }, "the first replica still signs with generation \(generation)")
    }
}
