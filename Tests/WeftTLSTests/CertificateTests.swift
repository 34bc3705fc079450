import Foundation
import Testing
import WeftTLS

/// Certificates, CSRs, issuance and chain verification, judged by the `openssl`
/// tool wherever it can judge.
@Suite struct CertificateTests {
    static let spiffe = "spiffe://weft.local/ns/shop/sa/payments"
    static let now = Int64(Date().timeIntervalSince1970)

    /// Root → intermediate → leaf, as the CA will run it.
    struct Hierarchy {
        let root: CertificateIssuer
        let intermediate: CertificateIssuer
        let leafKey: PrivateKey
        let leaf: Certificate
    }

    static func hierarchy(leafURI: String = spiffe, leafNotAfter: Int64 = now + 86400) throws -> Hierarchy {
        let root = try CertificateIssuer.selfSignedRoot(
            key: try PrivateKey.generateP256(), commonName: "Weft Root CA", notBefore: now - 60,
            notAfter: now + 10 * 365 * 86400)
        let intermediate = try root.intermediate(
            key: try PrivateKey.generateP256(), commonName: "Weft Intermediate CA", notBefore: now - 60,
            notAfter: now + 365 * 86400)
        let leafKey = try PrivateKey.generateP256()
        let request = try CertificateRequest.create(key: leafKey, uri: leafURI)
        let leaf = try intermediate.issueLeaf(for: request, uri: leafURI, notBefore: now - 60, notAfter: leafNotAfter)
        return Hierarchy(root: root, intermediate: intermediate, leafKey: leafKey, leaf: leaf)
    }

    @Test func issuedChainsVerifyWithTheOpenSSLTool() throws {
        let chain = try Self.hierarchy()
        let scratch = try ScratchDirectory()
        defer { scratch.cleanup() }
        let root = try scratch.write("root.pem", try chain.root.certificate.pemString())
        let intermediate = try scratch.write("intermediate.pem", try chain.intermediate.certificate.pemString())
        let leaf = try scratch.write("leaf.pem", try chain.leaf.pemString())
        let verdict = try openssl([
            "verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", root, "-untrusted", intermediate, leaf,
        ])
        #expect(verdict.contains("leaf.pem: OK"))
        _ = try openssl([
            "verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", root, "-untrusted", intermediate, leaf,
        ])
        // Without the intermediate the leaf does not chain.
        #expect(throws: OpenSSLToolError.self) { try openssl(["verify", "-CAfile", root, leaf]) }
    }

    @Test func leavesCarryTheMeshProfile() throws {
        let chain = try Self.hierarchy()
        let leaf = chain.leaf
        #expect(leaf.uriSubjectAlternativeNames == [Self.spiffe])
        #expect(!leaf.isCertificateAuthority)
        #expect(chain.intermediate.certificate.isCertificateAuthority)
        #expect(leaf.notBefore == Self.now - 60)
        #expect(leaf.notAfter == Self.now + 86400)
        #expect(leaf.serialHex.count == 40)  // 20 random octets
        let text = try openssl(["x509", "-noout", "-text"], input: try leaf.pemString())
        #expect(text.contains("URI:\(Self.spiffe)"))
        #expect(text.contains("CA:FALSE"))
        #expect(text.contains("TLS Web Server Authentication, TLS Web Client Authentication"))
        #expect(text.contains("Digital Signature"))
        #expect(text.contains("X509v3 Subject Alternative Name: critical"))  // empty subject
        #expect(text.contains("Authority Key Identifier"))
        #expect(text.contains("ecdsa-with-SHA256"))
        #expect(try leaf.publicKeyPEM() == (try chain.leafKey.publicKeyPEM()))
    }

    @Test func serialsAreRandomAndDistinct() throws {
        let chain = try Self.hierarchy()
        let key = try PrivateKey.generateP256()
        let serials = try (0..<50).map { _ in
            try chain.intermediate.issueLeaf(for: key, uri: Self.spiffe, notBefore: Self.now, notAfter: Self.now + 60)
                .serialHex
        }
        #expect(Set(serials).count == 50)
    }

    @Test func requestsFromTheOpenSSLToolAreReadAndVerified() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.cleanup() }
        let keyFile = try scratch.write("key.pem", try PrivateKey.generateP256().pkcs8PEM())
        let csrPEM = try openssl([
            "req", "-new", "-key", keyFile, "-subj", "/CN=payments", "-addext", "subjectAltName=URI:\(Self.spiffe)",
        ])
        let request = try CertificateRequest(pem: csrPEM)
        try request.verifySignature()
        #expect(request.key == .ecP256)
        #expect(request.uriSubjectAlternativeNames == [Self.spiffe])

        let rsaKey = try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"])
        let rsaFile = try scratch.write("rsa.pem", rsaKey)
        let rsaCSR = try CertificateRequest(pem: try openssl(["req", "-new", "-key", rsaFile, "-subj", "/CN=x"]))
        #expect(rsaCSR.key == .rsa(bits: 1024))
        #expect(rsaCSR.uriSubjectAlternativeNames.isEmpty)

        let p384 = try scratch.write(
            "p384.pem", try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]))
        let p384CSR = try CertificateRequest(pem: try openssl(["req", "-new", "-key", p384, "-subj", "/CN=x"]))
        #expect(p384CSR.key == .ec(curve: "secp384r1"))
    }

    @Test func ourRequestsAreAcceptedByTheOpenSSLTool() throws {
        let request = try CertificateRequest.create(
            key: try PrivateKey.generateP256(), uri: Self.spiffe, commonName: "payments")
        let text = try openssl(["req", "-noout", "-verify", "-text"], input: try request.pemString())
        #expect(text.contains("URI:\(Self.spiffe)"))
        #expect(text.contains("CN = payments") || text.contains("CN=payments"))
    }

    @Test func aTamperedRequestFailsItsSignatureCheck() throws {
        let request = try CertificateRequest.create(key: try PrivateKey.generateP256(), uri: Self.spiffe)
        // Swap the requested URI while keeping the original signature: decode the
        // DER, change one byte inside the URI, re-encode.
        let pem = try request.pemString()
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        var der = [UInt8](Data(base64Encoded: body)!)
        let needle = Array("payments".utf8)
        let index = try #require(
            (0...(der.count - needle.count)).first { Array(der[$0..<($0 + needle.count)]) == needle })
        der[index] = UInt8(ascii: "q")
        let tampered =
            "-----BEGIN CERTIFICATE REQUEST-----\n" + Data(der).base64EncodedString(options: .lineLength64Characters)
            + "\n-----END CERTIFICATE REQUEST-----\n"
        let parsed = try CertificateRequest(pem: tampered)
        #expect(parsed.uriSubjectAlternativeNames == ["spiffe://weft.local/ns/shop/sa/qayments"])
        #expect {
            try parsed.verifySignature()
        } throws: { error in
            (error as? TLSError)?.kind == .badSignature
        }
    }

    @Test func garbageIsRefusedPrecisely() {
        #expect(throws: TLSError.self) { try CertificateRequest(pem: "hello") }
        #expect(throws: TLSError.self) { try Certificate(pem: "") }
        #expect {
            try CertificateRequest(
                pem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
        } throws: { error in
            guard let error = error as? TLSError else { return false }
            return error.kind == .invalidPEM && !error.openSSLReasons.isEmpty
        }
    }

    @Test func urisCannotSmuggleExtraNames() throws {
        let chain = try Self.hierarchy()
        let hostile = "spiffe://weft.local/ns/shop/sa/payments,DNS:evil.example"
        let leaf = try chain.intermediate.issueLeaf(
            for: try PrivateKey.generateP256(), uri: hostile, notBefore: Self.now, notAfter: Self.now + 60)
        // One URI name holding the whole string, and no DNS name.
        #expect(leaf.uriSubjectAlternativeNames == [hostile])
        // openssl prints entries separated by ", "; a smuggled entry would show as
        // "URI:…payments, DNS:evil.example".
        let text = try openssl(["x509", "-noout", "-ext", "subjectAltName"], input: try leaf.pemString())
        #expect(text.contains("URI:\(hostile)"))
        #expect(!text.contains(", DNS:"))
        #expect {
            try chain.intermediate.issueLeaf(
                for: try PrivateKey.generateP256(), uri: "spiffe://x/ns/a/sa/b\nDNS:evil", notBefore: Self.now,
                notAfter: Self.now + 60)
        } throws: { error in
            (error as? TLSError)?.kind == .invalidInput
        }
    }

    @Test func servingCertificatesNameHostsAndAddresses() throws {
        let chain = try Self.hierarchy()
        let leaf = try chain.intermediate.issueLeaf(
            for: try PrivateKey.generateP256(), uri: Self.spiffe, dnsNames: ["localhost", "ca.weft.internal"],
            ipAddresses: ["127.0.0.1", "::1"], notBefore: Self.now, notAfter: Self.now + 60)
        let text = try openssl(["x509", "-noout", "-ext", "subjectAltName"], input: try leaf.pemString())
        #expect(text.contains("URI:\(Self.spiffe)"))
        #expect(text.contains("DNS:localhost, DNS:ca.weft.internal"))
        #expect(text.contains("IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"))
        // The tool checks host names and addresses against them.
        let scratch = try ScratchDirectory()
        defer { scratch.cleanup() }
        let caFile = try scratch.write("ca.pem", try chain.root.certificate.pemString())
        let untrusted = try scratch.write("chain.pem", try chain.intermediate.certificate.pemString())
        let leafFile = try scratch.write("leaf.pem", try leaf.pemString())
        for check in [["-verify_hostname", "ca.weft.internal"], ["-verify_ip", "127.0.0.1"]] {
            _ = try openssl(["verify", "-CAfile", caFile, "-untrusted", untrusted] + check + [leafFile])
        }
        #expect(throws: OpenSSLToolError.self) {
            try openssl([
                "verify", "-CAfile", caFile, "-untrusted", untrusted, "-verify_hostname", "evil.example", leafFile,
            ])
        }
        for (dns, ip) in [(["bad name"], []), (["a,DNS:b"], []), ([], ["300.1.1.1"]), ([], ["localhost"])] {
            #expect(throws: TLSError.self) {
                try chain.intermediate.issueLeaf(
                    for: try PrivateKey.generateP256(), uri: Self.spiffe, dnsNames: dns, ipAddresses: ip,
                    notBefore: Self.now, notAfter: Self.now + 60)
            }
        }
    }

    @Test func chainsParseInOrderAndRefuseTrailingGarbage() throws {
        let chain = try Self.hierarchy()
        let pem = try chain.leaf.pemString() + (try chain.intermediate.certificate.pemString())
        let parsed = try Certificate.chain(pem: pem)
        #expect(parsed.map(\.serialHex) == [chain.leaf.serialHex, chain.intermediate.certificate.serialHex])
        #expect(throws: TLSError.self) { try Certificate(pem: pem) }  // exactly one expected
        let broken = pem + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        #expect(throws: TLSError.self) { try Certificate.chain(pem: broken) }
    }

    @Test func theVerifierAcceptsGoodChainsAndNamesWhatIsWrong() throws {
        let chain = try Self.hierarchy()
        let verifier = try CertificateVerifier(roots: [chain.root.certificate])
        try verifier.verify(chain.leaf, intermediates: [chain.intermediate.certificate])

        func reason(_ body: () throws -> Void) -> String? {
            do {
                try body()
                return nil
            } catch let error as TLSError {
                return error.kind == .verificationFailed ? error.context : "\(error)"
            } catch {
                return "\(error)"
            }
        }
        #expect(reason { try verifier.verify(chain.leaf) } == "unable to get local issuer certificate")
        #expect(
            reason {
                try verifier.verify(
                    chain.leaf, intermediates: [chain.intermediate.certificate], at: Self.now + 2 * 86400)
            } == "certificate has expired")
        #expect(
            reason {
                try verifier.verify(chain.leaf, intermediates: [chain.intermediate.certificate], at: Self.now - 3600)
            } == "certificate is not yet valid")
        let foreign = try Self.hierarchy()
        #expect(
            reason { try verifier.verify(foreign.leaf, intermediates: [foreign.intermediate.certificate]) }
                == "unable to get local issuer certificate")

        // A bundle with two roots (mid-rotation) accepts chains from either.
        let both = try CertificateVerifier(roots: [chain.root.certificate, foreign.root.certificate])
        try both.verify(chain.leaf, intermediates: [chain.intermediate.certificate])
        try both.verify(foreign.leaf, intermediates: [foreign.intermediate.certificate])
    }

    @Test func issuersRefuseMismatchedKeysAndNonAuthorities() throws {
        let chain = try Self.hierarchy()
        #expect {
            try CertificateIssuer(certificate: chain.root.certificate, key: try PrivateKey.generateP256())
        } throws: { error in
            (error as? TLSError)?.context.contains("does not match") == true
        }
        #expect {
            try CertificateIssuer(certificate: chain.leaf, key: chain.leafKey)
        } throws: { error in
            (error as? TLSError)?.context.contains("not a certificate authority") == true
        }
        #expect(throws: TLSError.self) {
            try chain.intermediate.issueLeaf(
                for: chain.leafKey, uri: Self.spiffe, notBefore: Self.now, notAfter: Self.now - 1)
        }
    }
}
