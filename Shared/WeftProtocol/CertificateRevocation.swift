/// An operator's revocation of a certificate: `{"reason": "key compromised"}`.
/// The reason is optional, one line of up to 200 characters, kept in the ledger.
public struct CertificateRevocation: Codable, Hashable, Sendable {
    public var reason: String?

    public init(reason: String? = nil) throws(ProtocolError) {
        if let reason, reason.isEmpty || reason.count > 200 || reason.contains(where: { $0.isNewline || $0 == "\0" }) {
            throw ProtocolError(field: "reason", "must be 1 to 200 characters on one line")
        }
        self.reason = reason
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["reason"])
        let reason: String? = try object.optional("reason")
        self = try object.validate { () throws(ProtocolError) in try CertificateRevocation(reason: reason) }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(reason, "reason")
    }
}
