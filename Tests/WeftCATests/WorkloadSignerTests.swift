import Foundation
import Testing
import WeftCA
import WeftProtocol
import WeftTLS
import WeftTestSupport

/// Workload certificates from CSRs made by the openssl tool, checked by it.
@Suite struct WorkloadSignerTests {
    static let now = Int64(Date().timeIntervalSince1970)
    static let identity = try! SPIFFEID(validating: "spiffe://weft.local/ns/shop/sa/payments")

    static func signer(_ scratch: Scratch) throws -> WorkloadSigner {
        let store = try AuthorityStore.open(
            AuthorityStore.Configuration(directory: scratch.path + "/ca", trustDomain: "weft.local"), now: now)
        return WorkloadSigner(authority: store.active, trustDomain: "weft.local")
    }

    static func refusal(_ body: () throws -> Void) -> CAError? {
        do {
            try body()
            return nil
        } catch {
            return error as? CAError
        }
    }

    @Test func issuesACertificateTheOpenSSLToolVerifies() async throws {
        try await blocking {
            let scratch = try Scratch()
            let signer = try Self.signer(scratch)
            let csr = try scratch.csr("payments", uris: [Self.identity.description])
            let issued = try signer.sign(csrPEM: csr, as: Self.identity, now: Self.now)

            #expect((try Certificate(pem: issued.leafPEM)).uriSubjectAlternativeNames == [Self.identity.description])
            #expect(issued.notBefore == Self.now - 300, "backdated five minutes")
            #expect(issued.notAfter == Self.now + 24 * 3600)
            #expect(issued.serial.hex.count >= 32, "at least 128 random bits")
            #expect(!(try Certificate(pem: issued.leafPEM)).isCertificateAuthority)

            let response = try issued.response()
            _ = try scratch.write("chain.pem", response.chain.text)
            _ = try scratch.write("leaf.pem", issued.leafPEM)
            _ = try scratch.write("root.pem", try signer.authority.anchor.pemString())
            let verified = try scratch.openssl([
                "verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", scratch.file("root.pem"),
                "-untrusted", scratch.file("chain.pem"), scratch.file("leaf.pem"),
            ])
            #expect(verified.output.contains("leaf.pem: OK"), "\(verified.output)")
            let serverPurpose = try scratch.openssl([
                "verify", "-purpose", "sslserver", "-CAfile", scratch.file("root.pem"), scratch.file("leaf.pem"),
            ])
            #expect(serverPurpose.output.contains("leaf.pem: OK"), "\(serverPurpose.output)")
            let text = try scratch.openssl(["x509", "-noout", "-text", "-in", scratch.file("leaf.pem")]).output
            #expect(text.contains("TLS Web Server Authentication, TLS Web Client Authentication"))
            #expect(text.contains("URI:\(Self.identity)"))

            // Two certificates never share a serial.
            let second = try signer.sign(csrPEM: csr, as: Self.identity, now: Self.now)
            #expect(second.serial != issued.serial)
        }
    }

    @Test func refusesGarbageAndTamperedRequests() async throws {
        try await blocking {
            let scratch = try Scratch()
            let signer = try Self.signer(scratch)
            let garbage = Self.refusal {
                _ = try signer.sign(
                    csrPEM: "-----BEGIN CERTIFICATE REQUEST-----\nbm9wZQ==\n-----END CERTIFICATE REQUEST-----\n",
                    as: Self.identity, now: Self.now)
            }
            #expect(garbage?.kind == .invalidCSR)
            #expect(
                Self.refusal { _ = try signer.sign(csrPEM: "hello", as: Self.identity, now: Self.now) }?.kind
                    == .invalidCSR
            )

            // Flip one bit in the signature (the last bytes of the DER): it still
            // parses, but no longer verifies.
            let csr = try scratch.csr("payments", uris: [Self.identity.description])
            let body = csr.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            var der = try #require(Data(base64Encoded: body))
            der[der.count - 2] ^= 0x01
            let tampered =
                "-----BEGIN CERTIFICATE REQUEST-----\n" + der.base64EncodedString(options: .lineLength64Characters)
                + "\n-----END CERTIFICATE REQUEST-----\n"
            let refused = Self.refusal { _ = try signer.sign(csrPEM: tampered, as: Self.identity, now: Self.now) }
            #expect(refused?.kind == .badSignature, "\(String(describing: refused))")
        }
    }

    @Test func refusesWeakAndUnsupportedKeys() async throws {
        try await blocking {
            let scratch = try Scratch()
            let signer = try Self.signer(scratch)
            let rsa512 = try scratch.csr("rsa512", keyType: "rsa:512", uris: [Self.identity.description])
            let weak = Self.refusal { _ = try signer.sign(csrPEM: rsa512, as: Self.identity, now: Self.now) }
            #expect(weak?.kind == .unsupportedKey)
            #expect(weak?.message.contains("RSA-512 is too weak") == true)
            let ed25519 = try scratch.csr("ed", keyType: "ed25519", uris: [Self.identity.description])
            let other = Self.refusal { _ = try signer.sign(csrPEM: ed25519, as: Self.identity, now: Self.now) }
            #expect(other?.kind == .unsupportedKey, "\(String(describing: other))")
            let rsa2048 = try scratch.csr("rsa2048", keyType: "rsa:2048", uris: [Self.identity.description])
            #expect(
                try Certificate(pem: try signer.sign(csrPEM: rsa2048, as: Self.identity, now: Self.now).leafPEM)
                    .uriSubjectAlternativeNames.count
                    == 1)
        }
    }

    @Test func issuesOnlyTheIdentityTheCredentialAuthorizes() async throws {
        try await blocking {
            let scratch = try Scratch()
            let signer = try Self.signer(scratch)
            let cases: [(String, [String])] = [
                ("other", ["spiffe://weft.local/ns/shop/sa/billing"]),
                ("two", [Self.identity.description, "spiffe://weft.local/ns/shop/sa/billing"]),
                ("none", []),
                ("dns", ["https://payments.example"]),
            ]
            for (name, uris) in cases {
                let csr = try scratch.csr(name, uris: uris)
                let refused = Self.refusal { _ = try signer.sign(csrPEM: csr, as: Self.identity, now: Self.now) }
                #expect(refused?.kind == .identityMismatch, "\(name): \(String(describing: refused))")
                #expect(refused?.status == 403)
            }
            // An identity from another trust domain, even if the CSR matches it.
            let foreign = try SPIFFEID(validating: "spiffe://other.example/ns/shop/sa/payments")
            let csr = try scratch.csr("foreign", uris: [foreign.description])
            #expect(
                Self.refusal { _ = try signer.sign(csrPEM: csr, as: foreign, now: Self.now) }?.kind == .identityMismatch
            )
        }
    }
}
