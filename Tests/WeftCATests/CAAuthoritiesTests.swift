import Foundation
import Logging
import Testing
import WeftProtocol
import WeftTLS

@testable import WeftCA

/// What a replica serves from memory moves only forward.
@Suite struct CAAuthoritiesTests {
    @Test func anOlderSnapshotNeverUndoesANewerOne() throws {
        let scratch = try Scratch()
        let now = Int64(Date().timeIntervalSince1970)
        let store = try AuthorityStore.open(
            AuthorityStore.Configuration(directory: scratch.file("data"), trustDomain: "weft.test"), now: now)
        let pem = try store.active.certificate.pemString()
        let root = RootRecord(
            generation: 1, state: .active, anchorPEM: pem, authorityPEM: pem,
            createdAt: Timestamp(secondsSinceEpoch: now))
        func snapshot(_ version: UInt64, revoked: Set<String>) -> CASnapshot {
            CASnapshot(bundleVersion: version, roots: [root], revokedSerials: revoked)
        }
        let authorities = try CAAuthorities(
            configuration: CAConfiguration(
                adminToken: "unused-admin-token-0123", dataDirectory: scratch.file("data"), trustDomain: "weft.test"),
            store: store, snapshot: snapshot(3, revoked: ["ab"]))
        let logger = Logger(label: "test")

        // A load that started before the revocation finishes after it: ignored.
        #expect(try authorities.apply(snapshot(2, revoked: []), logger: logger) == false)
        #expect(authorities.snapshot.bundleVersion == 3)
        #expect(authorities.snapshot.revokedSerials == ["ab"])
        #expect(String(decoding: authorities.bundleBody.body, as: UTF8.self).contains(#""revoked_serials":["ab"]"#))

        #expect(try authorities.apply(snapshot(4, revoked: ["ab", "cd"]), logger: logger) == true)
        #expect(authorities.snapshot.revokedSerials == ["ab", "cd"])
        #expect(authorities.bundleBody.version == 4)
        #expect(FileManager.default.fileExists(atPath: scratch.file("data") + "/trust-bundle.pem"))
    }
}
