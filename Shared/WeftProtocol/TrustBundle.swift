/// What proxies trust: the CA roots of one trust domain (several while a root
/// rotates) and the serials revoked before their expiry. `version` rises with every
/// change, so a proxy polling with its current version is answered cheaply.
public struct TrustBundle: Codable, Hashable, Sendable {
    public var trustDomain: String
    public var version: UInt64
    public var roots: [PEMDocument]
    public var revokedSerials: [CertificateSerial]

    public init(trustDomain: String, version: UInt64, roots: [PEMDocument], revokedSerials: [CertificateSerial] = [])
        throws(ProtocolError)
    {
        if let problem = SPIFFEID.trustDomainProblem(trustDomain) {
            throw ProtocolError(field: "trust_domain", "invalid trust domain: \(problem)")
        }
        guard (1...ProtocolLimits.rootsPerBundle).contains(roots.count) else {
            throw ProtocolError(
                field: "roots", "must hold 1 to \(ProtocolLimits.rootsPerBundle) roots, got \(roots.count)")
        }
        for (index, root) in roots.enumerated() where root.label != "CERTIFICATE" || root.blockCount != 1 {
            throw ProtocolError(FieldPath([.key("roots"), .index(index)]), "must be one CERTIFICATE block")
        }
        guard revokedSerials.count <= ProtocolLimits.revokedSerialsPerBundle else {
            throw ProtocolError(
                field: "revoked_serials",
                "has \(revokedSerials.count) entries; the limit is \(ProtocolLimits.revokedSerialsPerBundle)")
        }
        self.trustDomain = trustDomain
        self.version = version
        self.roots = roots
        self.revokedSerials = revokedSerials
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["trust_domain", "version", "roots", "revoked_serials"])
        let trustDomain: String = try object.required("trust_domain")
        let version: UInt64 = try object.required("version")
        let rootTexts: [String] = try object.list("roots", limit: ProtocolLimits.rootsPerBundle, required: true)
        var roots: [PEMDocument] = []
        for (index, text) in rootTexts.enumerated() {
            do {
                roots.append(try PEMDocument(text, label: "CERTIFICATE"))
            } catch {
                throw ProtocolError(
                    FieldPath(decoder.codingPath + [AnyKey("roots")]).appending(.index(index)), error.reason)
            }
        }
        let revoked: [CertificateSerial] = try object.list(
            "revoked_serials", limit: ProtocolLimits.revokedSerialsPerBundle)
        self = try object.validate { () throws(ProtocolError) in
            try TrustBundle(trustDomain: trustDomain, version: version, roots: roots, revokedSerials: revoked)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(trustDomain, "trust_domain")
        try object.encode(version, "version")
        try object.encode(roots.map(\.text), "roots")
        try object.encode(revokedSerials, "revoked_serials")
    }
}
