public import Logging
import NIOConcurrencyHelpers
import WeftProxy
public import WeftTLS

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The operator's certificates on the TLS listener: read from their files,
/// chosen per connection by the client's SNI, and reread when the files change
/// (checked every two seconds, by size and modification time), without
/// dropping a connection: a handshake uses the set in force when it began.
///
/// A changed set that cannot be used (a key that does not match its
/// certificate, half-written PEM while a renewal tool writes the pair) is
/// refused with the reason logged, and the last good set keeps serving; the
/// next change is tried again.
public final class GatewayCertificates: Sendable {
    /// One certificate chain (leaf first) and its key, as files.
    public struct Files: Sendable, Equatable {
        public var certificate: String
        public var key: String

        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    public let provider: TLSContextProvider
    private let poller: FileChangePoller
    private let served: NIOLockedValueBox<[[String]]>

    /// The names each certificate is served for, in order (the first serves
    /// clients that name no host or an unknown one).
    public var names: [[String]] { served.withLockedValue { $0 } }

    /// Loads `files`; throws what makes them unusable (exit 78 at start-up).
    public init(
        _ files: [Files], minimumVersion: TLSConfiguration.Version, logger: Logger
    ) throws {
        let base = TLSConfiguration(
            role: .server, applicationProtocols: ["h2", "http/1.1"], minimumVersion: minimumVersion)
        let table = try Self.load(files, base: base)
        provider = TLSContextProvider(try table.makeContext())
        served = NIOLockedValueBox(table.entries.map(\.names))
        let (provider, served) = (self.provider, self.served)
        // Checked every 2 s off the event loops (see `FileChangePoller`).
        poller = FileChangePoller(paths: files.flatMap { [$0.certificate, $0.key] }, interval: .seconds(2)) {
            do {
                let table = try Self.load(files, base: base)
                provider.update(try table.makeContext())
                served.withLockedValue { $0 = table.entries.map(\.names) }
                logger.info("reloaded the TLS certificates: \(Self.describe(table.entries.map(\.names)))")
            } catch {
                logger.error("refused the changed TLS certificates, keeping the ones in use: \(error)")
            }
        }
    }

    public func stop() {
        poller.stop()
    }

    /// `api.example.com (default); *.pos.example.com`.
    public static func describe(_ names: [[String]]) -> String {
        names.enumerated().map { index, names in
            let listed = names.isEmpty ? "(no DNS names)" : names.joined(separator: ", ")
            return index == 0 ? "\(listed) (default)" : listed
        }.joined(separator: "; ")
    }

    struct Unusable: Error, CustomStringConvertible {
        let description: String
    }

    static func load(_ files: [Files], base: TLSConfiguration) throws -> TLSServerNames {
        var certificates: [(chain: [Certificate], key: PrivateKey)] = []
        for pair in files {
            let chainPEM: String
            let keyPEM: String
            do {
                chainPEM = try String(contentsOfFile: pair.certificate, encoding: .utf8)
                keyPEM = try String(contentsOfFile: pair.key, encoding: .utf8)
            } catch {
                throw Unusable(description: "cannot read \(pair.certificate) or \(pair.key): \(error)")
            }
            do {
                let chain = try Certificate.chain(pem: chainPEM)
                guard !chain.isEmpty else { throw TLSError(.invalidInput, "no certificate in the file") }
                let key = try PrivateKey(pem: keyPEM)
                // Checked here, pair by pair, so the error names the files.
                _ = try TLSContext(
                    {
                        var one = base
                        one.certificateChain = chain
                        one.privateKey = key
                        return one
                    }())
                certificates.append((chain, key))
            } catch {
                throw Unusable(description: "\(pair.certificate) with \(pair.key): \(error)")
            }
        }
        return try TLSServerNames(certificates, base: base)
    }
}
