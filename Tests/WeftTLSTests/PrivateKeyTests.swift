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

    @Test func encryptsKeysThatTheOpenSSLToolDecrypts() throws {
        let key = try PrivateKey.generateP256()
        let encrypted = try key.encryptedPKCS8PEM(passphrase: "correct horse")
        #expect(encrypted.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        #expect(!encrypted.contains(try key.pkcs8PEM()))
        let decryptedByTool = try openssl(["pkey", "-passin", "pass:correct horse"], input: encrypted)
        #expect(decryptedByTool == (try key.pkcs8PEM()))
        let again = try PrivateKey(pem: encrypted, passphrase: "correct horse")
        #expect(try again.publicKeyPEM() == (try key.publicKeyPEM()))
        // And one the tool encrypted reads back here.
        let byTool = try openssl(
            ["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:s3cret"], input: try key.pkcs8PEM())
        #expect(try PrivateKey(pem: byTool, passphrase: "s3cret").publicKeyPEM() == (try key.publicKeyPEM()))
    }

    @Test func refusesEncryptedKeysWithoutTheRightPassphraseAndNeverPrompts() throws {
        let encrypted = try PrivateKey.generateP256().encryptedPKCS8PEM(passphrase: "right")
        #expect {
            try PrivateKey(pem: encrypted, passphrase: "wrong")
        } throws: { error in
            (error as? TLSError)?.description.contains("does not decrypt with the passphrase") == true
        }
        // No passphrase: refused at once (OpenSSL's default would read the terminal).
        #expect {
            try PrivateKey(pem: encrypted)
        } throws: { error in
            (error as? TLSError)?.description.contains("encrypted and no passphrase was given") == true
        }
        #expect(throws: TLSError.self) { try PrivateKey.generateP256().encryptedPKCS8PEM(passphrase: "") }
    }
}
