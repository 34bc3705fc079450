import Foundation
import WeftTLS

/// A small mesh PKI for tests: one root, workload certificates for named
/// services, and variations (expired, foreign, no SPIFFE ID).
struct MeshPKI {
    let root: CertificateIssuer
    static let now = Int64(Date().timeIntervalSince1970)

    init() throws {
        root = try CertificateIssuer.selfSignedRoot(
            key: try PrivateKey.generateP256(), commonName: "Test Root", notBefore: Self.now - 3600,
            notAfter: Self.now + 86400 * 30)
    }

    static func identity(_ service: String) -> String { "spiffe://weft.local/ns/default/sa/\(service)" }

    struct Workload {
        let certificate: Certificate
        let key: PrivateKey
    }

    func workload(_ service: String, notBefore: Int64 = now - 60, notAfter: Int64 = now + 3600) throws -> Workload {
        let key = try PrivateKey.generateP256()
        let certificate = try root.issueLeaf(
            for: key, uri: Self.identity(service), notBefore: notBefore, notAfter: notAfter)
        return Workload(certificate: certificate, key: key)
    }

    func serverContext(_ workload: Workload, revoked: Set<String> = [], protocols: [String] = ["h2"]) throws
        -> TLSContext
    {
        var configuration = TLSConfiguration.mesh(
            role: .server, certificateChain: [workload.certificate], privateKey: workload.key,
            trustRoots: [root.certificate], revokedSerials: revoked)
        configuration.applicationProtocols = protocols
        return try TLSContext(configuration)
    }

    func clientContext(_ workload: Workload?, revoked: Set<String> = [], protocols: [String] = ["h2"]) throws
        -> TLSContext
    {
        var configuration = TLSConfiguration(
            role: .client, certificateChain: workload.map { [$0.certificate] } ?? [], privateKey: workload?.key,
            trustRoots: [root.certificate], requirePeerCertificate: true, applicationProtocols: protocols,
            revokedSerials: revoked, requireSPIFFEIdentity: true)
        configuration.minimumVersion = .tls13
        return try TLSContext(configuration)
    }
}
