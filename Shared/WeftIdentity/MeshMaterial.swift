public import WeftTLS

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A proxy's mesh certificate chain, its key and the trust bundle, read and
/// checked together before any port opens: the chain must be for `identity`
/// (this proxy's SPIFFE ID, nothing else), and the key must be the chain's.
/// Errors name the flag whose file is at fault.
public struct MeshMaterial: Sendable {
    public let chain: [Certificate]
    public let key: PrivateKey
    public let bundle: [Certificate]
    public let revoked: Set<String>

    /// The leaf's expiry (seconds since 1970).
    public var notAfter: Int64 { chain[0].notAfter }
    /// The leaf's validity period, in seconds.
    public var lifetime: Int64 { chain[0].notAfter - chain[0].notBefore }

    init(chain: [Certificate], key: PrivateKey, bundle: [Certificate], revoked: Set<String>) {
        self.chain = chain
        self.key = key
        self.bundle = bundle
        self.revoked = revoked
    }

    /// Refuses material that is not `identity`'s, or whose key is not the chain's.
    func check(expecting identity: String) throws(StartupError) {
        guard let leaf = chain.first else { throw StartupError("the chain holds no certificate") }
        guard !bundle.isEmpty else { throw StartupError("the trust bundle holds no certificate") }
        let identities = leaf.uriSubjectAlternativeNames.filter { $0.hasPrefix("spiffe://") }
        guard identities == [identity] else {
            throw StartupError(
                "the certificate is for \(identities.first ?? "no SPIFFE ID"), but this proxy is \(identity)")
        }
        guard (try? leaf.publicKeyPEM()) == (try? key.publicKeyPEM()) else {
            throw StartupError("the key is not the certificate's")
        }
    }

    public static func load(
        certificateFile: String, keyFile: String, bundleFile: String, revokedSerials: Set<String>,
        expecting identity: String
    ) throws(StartupError) -> MeshMaterial {
        let chain = try read(certificateFile, "--certificate") { try Certificate.chain(pem: $0) }
        let key = try read(keyFile, "--key") { try PrivateKey(pem: $0) }
        let bundle = try read(bundleFile, "--trust-bundle") { try Certificate.chain(pem: $0) }
        guard let leaf = chain.first else {
            throw StartupError("--certificate: the file holds no certificate")
        }
        guard bundle.count > 0 else {
            throw StartupError("--trust-bundle: the file holds no certificate")
        }
        let identities = leaf.uriSubjectAlternativeNames.filter { $0.hasPrefix("spiffe://") }
        guard identities == [identity] else {
            throw StartupError(
                "--certificate: it is for \(identities.first ?? "no SPIFFE ID"), but this proxy is \(identity)")
        }
        guard (try? leaf.publicKeyPEM()) == (try? key.publicKeyPEM()) else {
            throw StartupError("--key: it is not the key of the certificate's public key")
        }
        return MeshMaterial(chain: chain, key: key, bundle: bundle, revoked: revokedSerials)
    }

    /// The mesh TLS context for one side of the mesh hop.
    /// `applicationProtocols`: `h2` for the mesh hop, `http/1.1` for the
    /// registry's API over mutual TLS.
    public func context(
        role: TLSConfiguration.Role, trustDomain: String, applicationProtocols: [String] = ["h2"]
    ) throws(StartupError) -> TLSContext {
        do {
            var configuration = TLSConfiguration.mesh(
                role: role, certificateChain: chain, privateKey: key, trustRoots: bundle, revokedSerials: revoked,
                trustDomain: trustDomain)
            configuration.applicationProtocols = applicationProtocols
            return try TLSContext(configuration)
        } catch {
            throw StartupError("cannot build the mesh TLS context: \(error)")
        }
    }

    private static func read<T>(_ path: String, _ flag: String, _ parse: (String) throws -> T)
        throws(StartupError) -> T
    {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw StartupError("\(flag): cannot read \(path)")
        }
        do {
            return try parse(text)
        } catch {
            throw StartupError("\(flag): \(error)")
        }
    }
}
