import Foundation
import Testing

@testable import WeftTLS

/// The OpenSSL layer, proven against OpenSSL's own command-line tool.
@Suite struct PrivateKeyTests {
    @Test func linksOpenSSL3() {
        #expect(OpenSSLLibrary.versionString.hasPrefix("OpenSSL 3"))
        #expect(OpenSSLLibrary.versionNumber >= 0x3000_0000)
    }

    @Test func generatesP256KeysThatTheOpenSSLToolReads() throws {
        let key = try PrivateKey.generateP256()
        #expect(key.bits == 256)
        let pem = try key.pkcs8PEM()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let described = try openssl(["pkey", "-noout", "-text"], input: pem)
        #expect(described.contains("prime256v1") || described.contains("P-256"))
        // The public half that OpenSSL derives is the one we export.
        let derivedPublic = try openssl(["pkey", "-pubout"], input: pem)
        #expect(derivedPublic == (try key.publicKeyPEM()))
    }

    @Test func twoKeysDiffer() throws {
        #expect(try PrivateKey.generateP256().publicKeyPEM() != (try PrivateKey.generateP256().publicKeyPEM()))
    }

    @Test func readsBackItsOwnPEM() throws {
        let key = try PrivateKey.generateP256()
        let again = try PrivateKey(pem: try key.pkcs8PEM())
        #expect(try again.publicKeyPEM() == (try key.publicKeyPEM()))
    }

    @Test func refusesGarbageWithOpenSSLsReason() {
        #expect {
            try PrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
        } throws: { error in
            guard let error = error as? TLSError else { return false }
            return error.kind == .invalidPEM && !error.openSSLReasons.isEmpty
        }
        #expect(throws: TLSError.self) { try PrivateKey(pem: "") }
    }

    @Test func refusesKeysOtherThanP256() throws {
        let rsa = try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"], input: "")
        #expect {
            try PrivateKey(pem: rsa)
        } throws: { error in
            (error as? TLSError)?.kind == .unsupportedKeyType
        }
        let p384 = try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], input: "")
        #expect(throws: TLSError.self) { try PrivateKey(pem: p384) }
    }
}
