public import Logging
import NIOCore
import WeftProtocol
import WeftService
import WeftTLS

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// A proxy's identity at start, with weft-ca: what the data directory holds
/// when it is still good, else a new certificate for a join token.
///
/// The data directory (0700) holds `key.pem` (0600, made here and never sent
/// anywhere), `chain.pem` (leaf first) and `bundle.json` (the CA's bundle as
/// served: roots and revoked serials). Each is written whole or not at all.
struct Enrollment {
    let settings: AuthorityEnrollment
    let client: AuthorityClient
    let identity: SPIFFEID
    let logger: Logger

    static let keyFile = "key.pem"
    /// A renewal's new key, written before its chain: promoted to `key.pem` once
    /// the chain is in place, or at the next start if the process stopped between.
    static let nextKeyFile = "key.pem.next"
    static let chainFile = "chain.pem"
    static let bundleFile = "bundle.json"

    func run() throws(StartupError) -> (MeshMaterial, String?) {
        let directory = settings.dataDirectory
        do {
            try DurableFile.ensureDirectory(directory)
        } catch {
            throw StartupError("--data-dir: \(error)")
        }
        // Anchors: the bundle kept from the CA last time is newer than the file
        // the operator bootstrapped with.
        var anchors: [Certificate]
        var revoked: Set<String> = []
        if let kept = try persistedBundle() {
            (anchors, revoked) = kept
        } else {
            anchors = try bootstrapAnchors()
        }
        var key = try loadOrCreateKey()
        // A renewal that stopped between writing its chain and promoting its new
        // key leaves the chain matching key.pem.next: finish it.
        if let promoted = promotePendingKey(for: key) { key = promoted }

        var chain: [Certificate]? = try persistedChain(key: key)
        if chain == nil {
            chain = try enroll(key: key, anchors: anchors, revoked: revoked)
        }
        guard let chain else { throw StartupError("no certificate") }

        // The current bundle; with the CA away, the kept one serves (the proxy
        // polls again once running).
        var tag: String?
        do {
            if let (bundle, etag) = try client.bundle(
                etag: nil, anchors: anchors, revoked: revoked, presenting: (chain, key)
            ).wait() {
                anchors = try bundle.roots.map { try Certificate(pem: $0.text) }
                revoked = Set(bundle.revokedSerials.map(\.description))
                try Self.persistBundle(bundle, in: directory)
                tag = etag
            }
        } catch AuthorityClient.Failure.refused(_, let detail) {
            throw StartupError("the CA's trust bundle: \(detail)")
        } catch {
            logger.warning("cannot fetch the trust bundle; starting with the one kept in --data-dir: \(error)")
        }
        let material = MeshMaterial(chain: chain, key: key, bundle: anchors, revoked: revoked)
        try material.check(expecting: identity.description)
        return (material, tag)
    }

    // MARK: First certificate

    private func enroll(key: PrivateKey, anchors: [Certificate], revoked: Set<String>) throws(StartupError)
        -> [Certificate]
    {
        guard let tokenFile = settings.joinTokenFile else {
            throw StartupError(
                "--data-dir \(settings.dataDirectory) holds no valid certificate for \(identity), and no --join-token-file was given: create a join token for this identity (weft-ca: POST /v1/join-tokens) and pass it"
            )
        }
        let token: JoinTokenSecret
        do {
            let text = try String(contentsOfFile: tokenFile, encoding: .utf8)
            token = try JoinTokenSecret(validating: String(text.split(whereSeparator: \.isWhitespace).first ?? ""))
        } catch let error as ProtocolError {
            throw StartupError("--join-token-file: \(error.reason)")
        } catch {
            throw StartupError("--join-token-file: cannot read \(tokenFile)")
        }
        let csr: String
        do {
            csr = try CertificateRequest.create(key: key, uri: identity.description).pemString()
        } catch {
            throw StartupError("cannot make a certificate request: \(error)")
        }
        let signed = try retrying("join the mesh") { () throws -> CertificateSigningResponse in
            try client.sign(csr: csr, joinToken: token, anchors: anchors, revoked: revoked, presenting: nil).wait()
        }
        let chain: [Certificate]
        do {
            chain = try Certificate.chain(pem: signed.chain.text)
        } catch {
            throw StartupError("the CA's certificate chain does not parse: \(error)")
        }
        try MeshMaterial(chain: chain, key: key, bundle: anchors, revoked: revoked).check(
            expecting: identity.description)
        do {
            try Self.persistChain(signed.chain.text, in: settings.dataDirectory)
        } catch {
            throw StartupError("--data-dir: \(error)")
        }
        logger.notice(
            "joined the mesh with a join token",
            metadata: ["identity": "\(identity)", "serial": "\(signed.serial)", "expires": "\(signed.notAfter)"])
        return chain
    }

    /// Retries what fails for a reason that may pass (the CA unreachable or busy)
    /// for `startupWait`, with capped backoff; a refusal ends it at once.
    private func retrying<T>(_ what: String, _ body: () throws -> T) throws(StartupError) -> T {
        let deadline = NIODeadline.now() + settings.startupWait
        var delay = TimeAmount.milliseconds(250)
        while true {
            do {
                return try body()
            } catch AuthorityClient.Failure.refused(let status, let detail) {
                throw StartupError("cannot \(what): the CA refused (\(status)): \(detail)")
            } catch {
                guard NIODeadline.now() + delay < deadline else {
                    throw StartupError(
                        "cannot \(what): the CA at \(settings.authority) did not answer for \(settings.startupWait.nanoseconds / 1_000_000_000)s: \(error)"
                    )
                }
                logger.warning("cannot \(what) yet, retrying in \(delay.nanoseconds / 1_000_000)ms: \(error)")
                usleep(UInt32(delay.nanoseconds / 1000))
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    // MARK: The data directory

    private func path(_ name: String) -> String { settings.dataDirectory + "/" + name }

    private func bootstrapAnchors() throws(StartupError) -> [Certificate] {
        switch settings.anchors {
        case .fingerprint(let pinned):
            let bundle = try retrying("fetch the CA's bundle") { () throws -> TrustBundle in
                try client.unverifiedBundle().wait()
            }
            let roots = bundle.roots.compactMap { try? Certificate(pem: $0.text) }
            guard let root = roots.first(where: { $0.sha256Fingerprint == pinned }) else {
                let held = roots.map { "sha256:" + $0.sha256Fingerprint }.joined(separator: ", ")
                throw StartupError(
                    "--ca-fingerprint: the CA at \(settings.authority) holds no root with fingerprint sha256:\(pinned) (it offers \(held)); check the fingerprint and the CA's address"
                )
            }
            logger.notice(
                "trusting the CA's root pinned by --ca-fingerprint", metadata: ["fingerprint": "sha256:\(pinned)"])
            return [root]
        case .bundleFile(let file):
            do {
                let roots = try Certificate.chain(pem: try String(contentsOfFile: file, encoding: .utf8))
                guard !roots.isEmpty else { throw StartupError("--ca-bundle: \(file) holds no certificate") }
                return roots
            } catch let error as StartupError {
                throw error
            } catch {
                throw StartupError("--ca-bundle: cannot read \(file): \(error)")
            }
        }
    }

    private func persistedBundle() throws(StartupError) -> ([Certificate], Set<String>)? {
        guard let data = FileManager.default.contents(atPath: path(Self.bundleFile)) else { return nil }
        do {
            let bundle = try WeftJSON.decode(TrustBundle.self, from: data, unknownFields: .ignore)
            guard bundle.trustDomain == identity.trustDomain else {
                throw StartupError(
                    "--data-dir: the kept bundle is for trust domain \(bundle.trustDomain), but this proxy is \(identity)"
                )
            }
            return (
                try bundle.roots.map { try Certificate(pem: $0.text) }, Set(bundle.revokedSerials.map(\.description))
            )
        } catch let error as StartupError {
            throw error
        } catch {
            throw StartupError(
                "--data-dir: \(path(Self.bundleFile)) is damaged (\(error)); remove it to bootstrap from --ca-bundle again"
            )
        }
    }

    private func loadOrCreateKey() throws(StartupError) -> PrivateKey {
        let file = path(Self.keyFile)
        var status = stat()
        if stat(file, &status) == 0 {
            guard status.st_mode & 0o077 == 0 else {
                throw StartupError("--data-dir: \(file) may be read by others; run chmod 600 \(file)")
            }
            do {
                return try PrivateKey(pem: try String(contentsOfFile: file, encoding: .utf8))
            } catch {
                throw StartupError("--data-dir: \(file) is not a usable key: \(error)")
            }
        }
        do {
            let key = try PrivateKey.generateP256()
            try DurableFile.create(file, try key.pkcs8PEM(), mode: 0o600)
            return key
        } catch {
            throw StartupError("--data-dir: cannot create the key: \(error)")
        }
    }

    /// The renewal's new key when the kept chain is for it rather than for
    /// `current` (the process stopped between the two writes): made `key.pem`.
    private func promotePendingKey(for current: PrivateKey) -> PrivateKey? {
        let pending = path(Self.nextKeyFile)
        guard let text = try? String(contentsOfFile: pending, encoding: .utf8),
            let next = try? PrivateKey(pem: text),
            let chainText = try? String(contentsOfFile: path(Self.chainFile), encoding: .utf8),
            let leaf = try? Certificate.chain(pem: chainText).first,
            (try? leaf.publicKeyPEM()) == (try? next.publicKeyPEM()),
            (try? leaf.publicKeyPEM()) != (try? current.publicKeyPEM())
        else { return nil }
        guard rename(pending, path(Self.keyFile)) == 0 else { return nil }
        logger.notice("finished a renewal the last run left half done: the kept certificate's new key is in use")
        return next
    }

    /// Keeps a renewal: the new key first (as `key.pem.next`), then its chain,
    /// then the key promoted. Stopped anywhere, the next start finds a matching
    /// pair: the old key and chain, or the new chain and its key.
    static func persistRenewal(chain pem: String, key: PrivateKey, in directory: String) throws {
        let next = directory + "/" + nextKeyFile
        try DurableFile.replace(next, try key.pkcs8PEM(), mode: 0o600)
        try persistChain(pem, in: directory)
        guard rename(next, directory + "/" + keyFile) == 0 else {
            throw DurableFile.Failure("promote", next)
        }
        DurableFile.syncDirectory(directory)
    }

    /// The kept chain when it is this identity's, for this key, and not expired.
    private func persistedChain(key: PrivateKey) throws(StartupError) -> [Certificate]? {
        guard let text = try? String(contentsOfFile: path(Self.chainFile), encoding: .utf8) else { return nil }
        guard let chain = try? Certificate.chain(pem: text), let leaf = chain.first else {
            logger.warning("the kept certificate chain does not parse; joining again")
            return nil
        }
        let identities = leaf.uriSubjectAlternativeNames.filter { $0.hasPrefix("spiffe://") }
        guard identities == [identity.description] else {
            throw StartupError(
                "--data-dir holds a certificate for \(identities.first ?? "no SPIFFE ID"), but this proxy is \(identity): give each proxy its own data directory"
            )
        }
        guard (try? leaf.publicKeyPEM()) == (try? key.publicKeyPEM()) else {
            logger.warning("the kept certificate is not for the kept key; joining again")
            return nil
        }
        guard leaf.notAfter > WorkloadIdentity.unixTime() else {
            logger.warning(
                "the kept certificate expired at \(WorkloadIdentity.describe(leaf.notAfter)); joining again")
            return nil
        }
        logger.info(
            "using the certificate kept in --data-dir",
            metadata: ["serial": "\(leaf.serialHex)", "expires": "\(WorkloadIdentity.describe(leaf.notAfter))"])
        return chain
    }

    static func persistChain(_ pem: String, in directory: String) throws(DurableFile.Failure) {
        try DurableFile.replace(directory + "/" + chainFile, pem, mode: 0o644)
    }

    static func persistBundle(_ bundle: TrustBundle, in directory: String) throws {
        let text = String(decoding: try WeftJSON.encode(bundle), as: UTF8.self)
        try DurableFile.replace(directory + "/" + bundleFile, text, mode: 0o644)
    }
}
