public import WeftTLS

/// One signing authority generation: a key and certificate that sign workload
/// certificates, the certificates above it (for an intermediate under an
/// operator's root), and the trust anchor proxies must hold to accept what it
/// signs (itself when self-signed, else the operator's root).
public struct Authority: Sendable {
    public var generation: Int
    public var issuer: CertificateIssuer
    /// Certificates above `issuer.certificate`, nearest first (empty when self-signed).
    public var chainAbove: [Certificate]
    public var anchor: Certificate

    public var certificate: Certificate { issuer.certificate }

    /// What a workload presents after its leaf: this authority and any
    /// intermediates above it, without a self-signed anchor (peers hold anchors
    /// in their trust bundle; sending them again proves nothing).
    public var presentedChain: [Certificate] {
        ([certificate] + chainAbove).filter { !$0.isSelfSigned }
    }
}
