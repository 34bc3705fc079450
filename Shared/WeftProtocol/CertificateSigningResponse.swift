/// The CA's answer to a signing request: the certificate chain (leaf first, then
/// the intermediates up to but excluding the root), the identity it certifies, and
/// its validity, so the workload can schedule renewal without parsing X.509.
public struct CertificateSigningResponse: Codable, Hashable, Sendable {
    public var chain: PEMDocument
    public var identity: SPIFFEID
    public var serial: CertificateSerial
    public var notBefore: Timestamp
    public var notAfter: Timestamp

    public init(
        chain: PEMDocument, identity: SPIFFEID, serial: CertificateSerial, notBefore: Timestamp, notAfter: Timestamp
    ) throws(ProtocolError) {
        guard chain.label == "CERTIFICATE" else { throw ProtocolError(field: "chain", "must hold CERTIFICATE blocks") }
        guard notBefore < notAfter else { throw ProtocolError(field: "not_after", "must be after not_before") }
        self.chain = chain
        self.identity = identity
        self.serial = serial
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["chain", "identity", "serial", "not_before", "not_after"])
        let chain = try PEMDocument.decode(
            object, "chain", label: "CERTIFICATE", maximumBlocks: ProtocolLimits.certificatesPerChain)
        let identity: SPIFFEID = try object.required("identity")
        let serial: CertificateSerial = try object.required("serial")
        let notBefore: Timestamp = try object.required("not_before")
        let notAfter: Timestamp = try object.required("not_after")
        self = try object.validate { () throws(ProtocolError) in
            try CertificateSigningResponse(
                chain: chain, identity: identity, serial: serial, notBefore: notBefore, notAfter: notAfter)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(chain.text, "chain")
        try object.encode(identity, "identity")
        try object.encode(serial, "serial")
        try object.encode(notBefore, "not_before")
        try object.encode(notAfter, "not_after")
    }
}
