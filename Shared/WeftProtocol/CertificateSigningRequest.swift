/// A workload's request for a certificate: a PEM CSR, and for a first certificate
/// the join token that vouches for the identity. Renewals carry no token; the
/// caller's current certificate, presented over mutual TLS, vouches instead.
public struct CertificateSigningRequest: Codable, Hashable, Sendable {
    public var csr: PEMDocument
    public var joinToken: JoinTokenSecret?

    public init(csr: PEMDocument, joinToken: JoinTokenSecret? = nil) throws(ProtocolError) {
        guard csr.label == "CERTIFICATE REQUEST", csr.blockCount == 1 else {
            throw ProtocolError(field: "csr", "must be one CERTIFICATE REQUEST block")
        }
        self.csr = csr
        self.joinToken = joinToken
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["csr", "join_token"])
        let csr = try PEMDocument.decode(object, "csr", label: "CERTIFICATE REQUEST")
        let token: JoinTokenSecret? = try object.optional("join_token")
        self = try object.validate { () throws(ProtocolError) in
            try CertificateSigningRequest(csr: csr, joinToken: token)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(csr.text, "csr")
        try object.encode(joinToken, "join_token")
    }
}
