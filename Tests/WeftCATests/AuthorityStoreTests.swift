import Foundation
import Testing
import WeftCA
import WeftTLS

/// Authorities on disk: created once, kept private, loaded again.
@Suite struct AuthorityStoreTests {
    static let now = Int64(Date().timeIntervalSince1970)

    @Test func createsARootOnFirstStartWithAPrivateKeyAndLoadsItAgain() throws {
        let scratch = try Scratch()
        let configuration = AuthorityStore.Configuration(directory: scratch.path + "/ca", trustDomain: "weft.local")
        let first = try AuthorityStore.open(configuration, now: Self.now)
        #expect(first.authorities.count == 1)
        let root = first.active.certificate
        #expect(root.isSelfSigned)
        #expect(root.isCertificateAuthority)
        #expect(root.subjectCommonName == "Weft CA weft.local 1")
        #expect(root.notAfter - Self.now > 9 * 365 * 86_400)

        let key = scratch.path + "/ca/authorities/0001/key.pem"
        var status = stat()
        #expect(stat(key, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(stat(scratch.path + "/ca", &status) == 0)
        #expect(status.st_mode & 0o777 == 0o700)
        let text = try String(contentsOfFile: key, encoding: .utf8)
        #expect(text.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        // The openssl tool agrees the root is a valid CA certificate.
        let checked = try scratch.openssl([
            "verify", "-x509_strict", "-CAfile", scratch.path + "/ca/authorities/0001/certificate.pem",
            scratch.path + "/ca/authorities/0001/certificate.pem",
        ])
        #expect(checked.output.contains(": OK"), "\(checked.output)")

        // A restart finds the same authority instead of making a new one.
        let again = try AuthorityStore.open(configuration, now: Self.now + 60)
        #expect(again.authorities.count == 1)
        #expect(again.active.certificate.serialHex == root.serialHex)
    }

    @Test func ignoresAGenerationLeftHalfWrittenByACrash() throws {
        let scratch = try Scratch()
        let configuration = AuthorityStore.Configuration(directory: scratch.path + "/ca", trustDomain: "weft.local")
        try FileManager.default.createDirectory(
            atPath: scratch.path + "/ca/authorities/.new-1-42", withIntermediateDirectories: true)
        _ = try scratch.write("ca/authorities/.new-1-42/key.pem", "partial")
        let store = try AuthorityStore.open(configuration, now: Self.now)
        #expect(store.authorities.map(\.generation) == [1])
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/ca/authorities/0001/certificate.pem"))
        // A generation directory missing its key is reported, not recreated over.
        try FileManager.default.removeItem(atPath: scratch.path + "/ca/authorities/0001/key.pem")
        #expect {
            try AuthorityStore.open(configuration, now: Self.now)
        } throws: { error in
            (error as? CAError)?.message.contains("0001/key.pem is missing") == true
        }
    }

    @Test func encryptsTheKeyWithAPassphraseAndRefusesTheWrongOne() throws {
        let scratch = try Scratch()
        var configuration = AuthorityStore.Configuration(directory: scratch.path + "/ca", trustDomain: "weft.local")
        configuration.passphrase = "a long passphrase"
        _ = try AuthorityStore.open(configuration, now: Self.now)
        let text = try String(contentsOfFile: scratch.path + "/ca/authorities/0001/key.pem", encoding: .utf8)
        #expect(text.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        #expect(try AuthorityStore.open(configuration, now: Self.now).authorities.count == 1)

        configuration.passphrase = "another one"
        #expect {
            try AuthorityStore.open(configuration, now: Self.now)
        } throws: { error in
            (error as? CAError)?.kind == .authorityUnusable
                && (error as? CAError)?.message.contains("does not decrypt") == true
        }
        configuration.passphrase = nil
        #expect {
            try AuthorityStore.open(configuration, now: Self.now)
        } throws: { error in
            (error as? CAError)?.message.contains("no passphrase") == true
        }
    }

    @Test func refusesAKeyOthersCanRead() throws {
        let scratch = try Scratch()
        let configuration = AuthorityStore.Configuration(directory: scratch.path + "/ca", trustDomain: "weft.local")
        _ = try AuthorityStore.open(configuration, now: Self.now)
        chmod(scratch.path + "/ca/authorities/0001/key.pem", 0o644)
        #expect {
            try AuthorityStore.open(configuration, now: Self.now)
        } throws: { error in
            (error as? CAError)?.message.contains("readable by others (mode 644)") == true
        }
    }

    @Test func createsAnIntermediateUnderAnOperatorsRoot() throws {
        let scratch = try Scratch()
        let operatorKey = try PrivateKey.generateP256()
        let operatorRoot = try CertificateIssuer.selfSignedRoot(
            key: operatorKey, commonName: "Example Corp Root", notBefore: Self.now - 60,
            notAfter: Self.now + 20 * 365 * 86_400)
        var configuration = AuthorityStore.Configuration(directory: scratch.path + "/ca", trustDomain: "weft.local")
        configuration.operatorRoot = (operatorRoot.certificate, operatorKey)
        let store = try AuthorityStore.open(configuration, now: Self.now)
        let authority = store.active
        #expect(!authority.certificate.isSelfSigned)
        #expect(authority.anchor.subjectCommonName == "Example Corp Root")
        #expect(authority.presentedChain.count == 1, "the intermediate, not the operator's root")

        _ = try scratch.write("root.pem", try operatorRoot.certificate.pemString())
        let checked = try scratch.openssl([
            "verify", "-x509_strict", "-CAfile", scratch.file("root.pem"),
            scratch.path + "/ca/authorities/0001/certificate.pem",
        ])
        #expect(checked.output.contains(": OK"), "\(checked.output)")
        // Reloaded without the operator's key: the intermediate is enough to sign.
        configuration.operatorRoot = nil
        let reloaded = try AuthorityStore.open(configuration, now: Self.now)
        #expect(reloaded.active.anchor.subjectCommonName == "Example Corp Root")
    }
}
