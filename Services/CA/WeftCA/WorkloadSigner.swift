public import WeftProtocol
public import WeftTLS

/// Signs workload certificates: checks a CSR (it parses, its signature verifies,
/// its key is acceptable, and it asks for exactly the identity the caller's join
/// token or current certificate authorizes), then issues an X.509 v3 leaf with
/// that SPIFFE ID as its only URI name, serverAuth and clientAuth, a 20-octet
/// random serial, a not-before backdated for clock skew, and a short lifetime.
public struct WorkloadSigner: Sendable {
    public var authority: Authority
    public var trustDomain: String
    public var lifetime: Duration
    /// How far before "now" validity starts, for peers whose clocks run behind.
    public var backdate: Duration

    public init(
        authority: Authority, trustDomain: String, lifetime: Duration = .seconds(24 * 3600),
        backdate: Duration = .seconds(300)
    ) {
        self.authority = authority
        self.trustDomain = trustDomain
        self.lifetime = lifetime
        self.backdate = backdate
    }

    /// What a signing produces: the leaf, the chain to present after it, and
    /// the facts the ledger records.
    public struct Issued: Sendable {
        /// The leaf as PEM (the CA never needs it decoded).
        public var leafPEM: String
        public var chain: [Certificate]
        public var identity: SPIFFEID
        public var serial: CertificateSerial
        public var notBefore: Int64
        public var notAfter: Int64
        public var issuerGeneration: Int

        /// The API's answer: the chain as PEM, leaf first.
        public func response() throws -> CertificateSigningResponse {
            let pem = try ([leafPEM] + chain.map { try $0.pemString() }).joined()
            return try CertificateSigningResponse(
                chain: PEMDocument(pem, label: "CERTIFICATE", maximumBlocks: 8), identity: identity, serial: serial,
                notBefore: Timestamp(secondsSinceEpoch: notBefore), notAfter: Timestamp(secondsSinceEpoch: notAfter))
        }
    }

    /// Checks `csrPEM` and, if it deserves one, issues a certificate for `identity`.
    public func sign(csrPEM: String, as identity: SPIFFEID, now: Int64) throws(CAError) -> Issued {
        let request: CertificateRequest
        do {
            request = try CertificateRequest(pem: csrPEM)
        } catch {
            throw CAError(.invalidCSR, "the CSR does not parse as a PKCS#10 request: \(error.description)")
        }
        do {
            try request.verifySignature()
        } catch {
            throw CAError(.badSignature, "the CSR's signature does not verify with the key it carries")
        }
        try Self.checkKey(request.key)
        guard identity.trustDomain == trustDomain else {
            throw CAError(
                .identityMismatch, "\(identity) is not in this CA's trust domain \(trustDomain)")
        }
        let requested = request.uriSubjectAlternativeNames
        guard requested == [identity.description] else {
            let named =
                requested.isEmpty ? "no URI name" : requested.map { "\"\($0.prefix(200))\"" }.joined(separator: ", ")
            throw CAError(
                .identityMismatch, "the CSR asks for \(named); the credential presented authorizes exactly \(identity)")
        }
        let notBefore = now - backdate.components.seconds
        let notAfter = min(now + lifetime.components.seconds, authority.certificate.notAfter)
        guard notAfter > now else {
            throw CAError(.authorityUnusable, "the signing authority has expired; rotate the root")
        }
        do {
            let leaf = try authority.issuer.issueLeafPEM(
                for: request, uri: identity.description, notBefore: notBefore, notAfter: notAfter)
            return Issued(
                leafPEM: leaf.pem, chain: authority.presentedChain, identity: identity,
                serial: try CertificateSerial(validating: leaf.serialHex), notBefore: notBefore, notAfter: notAfter,
                issuerGeneration: authority.generation)
        } catch let error as TLSError {
            throw CAError(.internalFailure, "signing failed: \(error.description)")
        } catch {
            throw CAError(.internalFailure, "signing failed: \(error)")
        }
    }

    /// EC P-256 (what Weft's sidecars generate) or RSA of 2048 to 8192 bits.
    static func checkKey(_ key: KeyDescription) throws(CAError) {
        switch key {
        case .ecP256:
            return
        case .rsa(let bits) where (2048...8192).contains(bits):
            return
        case .rsa(let bits):
            throw CAError(
                .unsupportedKey,
                bits < 2048
                    ? "RSA-\(bits) is too weak; use EC P-256 (or RSA of at least 2048 bits)"
                    : "RSA-\(bits) is larger than the 8192-bit limit")
        default:
            throw CAError(.unsupportedKey, "\(key) keys are not accepted; use EC P-256 (or RSA of at least 2048 bits)")
        }
    }
}
