import Foundation
import WeftService
public import WeftTLS

#if canImport(Glibc)
    import Glibc
#endif

/// The CA's authorities on disk, one directory per generation:
///
/// ```
/// <data-dir>/                       0700
///   authorities/0001/certificate.pem
///   authorities/0001/key.pem        0600, encrypted when a passphrase is set
///   authorities/0001/chain.pem      certificates above it (intermediate only)
/// ```
///
/// On first start it creates generation 1: a self-signed EC P-256 root, or, when
/// the operator provides a root certificate and key, an intermediate under it
/// (the operator's key is used once and not kept). Keys are written with 0600
/// permissions through `open(O_EXCL)`, never through a file that was briefly
/// world-readable, and a key file others can read is refused at start. Keys are
/// never logged or served.
public struct AuthorityStore: Sendable {
    public struct Configuration: Sendable {
        public var directory: String
        public var trustDomain: String
        /// Encrypts the keys at rest (AES-256, PBKDF2) when set.
        public var passphrase: String?
        /// An operator's root to create an intermediate under, instead of a
        /// self-signed root.
        public var operatorRoot: (certificate: Certificate, key: PrivateKey)?
        public var rootLifetime: Duration = .seconds(10 * 365 * 86_400)
        public var intermediateLifetime: Duration = .seconds(365 * 86_400)

        public init(directory: String, trustDomain: String) {
            self.directory = directory
            self.trustDomain = trustDomain
        }
    }

    public let configuration: Configuration
    /// Every generation on disk, oldest first.
    public private(set) var authorities: [Authority]

    /// Loads the authorities in `configuration.directory`, creating the first one
    /// if there is none.
    public static func open(_ configuration: Configuration, now: Int64) throws(CAError) -> AuthorityStore {
        try ensureDirectory(configuration.directory)
        try ensureDirectory(configuration.directory + "/authorities")
        var store = AuthorityStore(configuration: configuration, authorities: [])
        for generation in try store.generationsOnDisk() {
            store.authorities.append(try store.load(generation))
        }
        if store.authorities.isEmpty {
            store.authorities.append(try store.create(generation: 1, now: now))
        }
        return store
    }

    /// The newest generation; it signs new workload certificates.
    public var active: Authority { authorities[authorities.count - 1] }

    /// Creates the next generation (root rotation introduces a new one).
    public mutating func createNext(now: Int64) throws(CAError) -> Authority {
        let authority = try create(generation: (authorities.last?.generation ?? 0) + 1, now: now)
        authorities.append(authority)
        return authority
    }

    // MARK: Files

    func path(_ generation: Int, _ file: String) -> String {
        let number = String(generation)
        return configuration.directory + "/authorities/"
            + String(repeating: "0", count: max(0, 4 - number.count)) + number + "/" + file
    }

    func generationsOnDisk() throws(CAError) -> [Int] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: configuration.directory + "/authorities")
        } catch {
            throw CAError(.authorityUnusable, "cannot list \(configuration.directory)/authorities: \(error)")
        }
        return entries.compactMap { $0.count == 4 ? Int($0) : nil }.sorted()
    }

    func load(_ generation: Int) throws(CAError) -> Authority {
        let keyPath = path(generation, "key.pem")
        var status = stat()
        guard stat(keyPath, &status) == 0 else {
            throw CAError(.authorityUnusable, "\(keyPath) is missing")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw CAError(
                .authorityUnusable,
                "\(keyPath) is readable by others (mode \(String(status.st_mode & 0o777, radix: 8))); run chmod 600 on it"
            )
        }
        do {
            let certificate = try Certificate(pem: try read(path(generation, "certificate.pem")))
            let key = try PrivateKey(pem: try read(keyPath), passphrase: configuration.passphrase)
            let chainPath = path(generation, "chain.pem")
            let chain =
                FileManager.default.fileExists(atPath: chainPath) ? try Certificate.chain(pem: try read(chainPath)) : []
            let issuer = try CertificateIssuer(certificate: certificate, key: key)
            return Authority(
                generation: generation, issuer: issuer, chainAbove: chain, anchor: chain.last ?? certificate)
        } catch let error as CAError {
            throw error
        } catch {
            throw CAError(.authorityUnusable, "authority \(generation): \(error)")
        }
    }

    func create(generation: Int, now: Int64) throws(CAError) -> Authority {
        do {
            let key = try PrivateKey.generateP256()
            let name = "Weft CA \(configuration.trustDomain) \(generation)"
            let issuer: CertificateIssuer
            var chain: [Certificate] = []
            if let root = configuration.operatorRoot {
                let parent = try CertificateIssuer(certificate: root.certificate, key: root.key)
                let notAfter = min(
                    now + configuration.intermediateLifetime.components.seconds, root.certificate.notAfter)
                issuer = try parent.intermediate(key: key, commonName: name, notBefore: now - 300, notAfter: notAfter)
                chain = [root.certificate]
            } else {
                issuer = try CertificateIssuer.selfSignedRoot(
                    key: key, commonName: name, notBefore: now - 300,
                    notAfter: now + configuration.rootLifetime.components.seconds, pathLength: 0)
            }
            // Written into a scratch directory and renamed into place, so a crash
            // part-way leaves no half generation (scratch names are not 4 digits,
            // so a later start ignores them).
            let final = String(path(generation, "").dropLast())
            let scratch =
                configuration.directory + "/authorities/.new-\(generation)-\(UInt32.random(in: 0...UInt32.max))"
            try Self.ensureDirectory(scratch)
            let keyPEM =
                try configuration.passphrase.map { try key.encryptedPKCS8PEM(passphrase: $0) } ?? key.pkcs8PEM()
            try Self.writeSecret(scratch + "/key.pem", keyPEM)
            try Self.writePublic(scratch + "/certificate.pem", try issuer.certificate.pemString())
            if !chain.isEmpty {
                try Self.writePublic(scratch + "/chain.pem", try chain.map { try $0.pemString() }.joined())
            }
            guard rename(scratch, final) == 0 else {
                throw CAError(
                    .authorityUnusable,
                    "cannot move authority \(generation) into place: \(String(cString: strerror(errno)))")
            }
            return Authority(
                generation: generation, issuer: issuer, chainAbove: chain, anchor: chain.last ?? issuer.certificate)
        } catch let error as CAError {
            throw error
        } catch {
            throw CAError(.authorityUnusable, "creating authority \(generation): \(error)")
        }
    }

    func read(_ path: String) throws(CAError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CAError(.authorityUnusable, "cannot read \(path)")
        }
    }

    static func ensureDirectory(_ path: String) throws(CAError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw CAError(.authorityUnusable, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Creates `path` with mode 0600 from the start (O_EXCL: never over an
    /// existing file, never briefly readable by others).
    static func writeSecret(_ path: String, _ contents: String) throws(CAError) {
        try write(path, contents, mode: 0o600)
    }

    static func writePublic(_ path: String, _ contents: String) throws(CAError) {
        try write(path, contents, mode: 0o644)
    }

    static func write(_ path: String, _ contents: String, mode: mode_t) throws(CAError) {
        do {
            try DurableFile.create(path, contents, mode: UInt32(mode))
        } catch {
            throw CAError(.authorityUnusable, error.description)
        }
    }
}
