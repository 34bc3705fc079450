public import Logging
public import NIOCore
public import WeftProtocol
public import WeftService

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Watches the registry's discovery API (a Consul-style blocking query:
/// `POST /v1/discovery?index=N&wait=30s`, scoped to what the proxy asks for: a
/// sidecar's upstreams and the intentions guarding it, a gateway's route table
/// and the services it reaches) and applies each new snapshot to every event
/// loop. Control-plane code: a task with async/await, never on the request path.
///
/// - Every snapshot is validated (decoding checks every field) before it is
///   applied; one that fails is refused with the reason logged, and the last
///   good one stays.
/// - Errors (registry down, 5xx, a refused credential) are retried with capped
///   exponential backoff and jitter (0.5 s doubling to 30 s); traffic keeps
///   flowing on the last good snapshot meanwhile.
/// - Each applied snapshot is written to the snapshot file (atomically, by
///   rename), so a restart while the registry is unreachable starts from it.
public final class DiscoveryWatcher: Sendable {
    public struct Settings: Sendable {
        public var client: ControlPlaneClient
        public var tokenFile: String
        public var request: DiscoveryRequest
        public var namespace: NamespaceName
        public var snapshotFile: String
        public var wait: Int = 30

        public init(
            client: ControlPlaneClient, tokenFile: String, request: DiscoveryRequest, namespace: NamespaceName,
            snapshotFile: String
        ) {
            self.client = client
            self.tokenFile = tokenFile
            self.request = request
            self.namespace = namespace
            self.snapshotFile = snapshotFile
        }
    }

    private let task: Task<Void, Never>

    public init(_ settings: Settings, loops: ProxyLoops, logger: Logger) {
        task = Task { await Self.run(settings, loops: loops, logger: logger) }
    }

    public func stop() {
        task.cancel()
    }

    /// One discovery query: the registry's answer (the caller decodes it).
    public static func query(_ settings: Settings, index: UInt64, wait: Int) -> EventLoopFuture<
        ControlPlaneClient.Response
    > {
        // Over mutual TLS the certificate says who calls; a token only over HTTP.
        var headers = [("content-type", "application/json")]
        if !settings.tokenFile.isEmpty {
            do {
                let text = try String(contentsOfFile: settings.tokenFile, encoding: .utf8)
                headers.append(("authorization", "Bearer \(text.split(whereSeparator: \.isWhitespace).first ?? "")"))
            } catch {
                return settings.client.group.next().makeFailedFuture(
                    ControlPlaneError("cannot read the registry token file \(settings.tokenFile): \(error)"))
            }
        }
        let body = (try? WeftJSON.encode(settings.request)).map { Array($0) } ?? []
        return settings.client.send(
            .POST, "/v1/discovery?index=\(index)&wait=\(wait)s",
            headers: headers, body: body,
            deadline: .seconds(Int64(wait) + 15))
    }

    /// The snapshot in an answer, validated; or an error saying why not.
    public static func snapshot(from response: ControlPlaneClient.Response) throws -> DiscoverySnapshot {
        guard response.status == 200 else {
            let detail = (try? WeftJSON.decode(Problem.self, from: Data(response.body)))?.detail
            throw ControlPlaneError("the registry answered \(response.status)\(detail.map { ": \($0)" } ?? "")")
        }
        do {
            // Fields a newer registry adds are ignored: sidecars and registries upgrade
            // apart.
            return try WeftJSON.decode(
                DiscoverySnapshot.self, from: Data(response.body), unknownFields: .ignore, maximumSize: 16 << 20)
        } catch {
            throw ControlPlaneError("the registry's snapshot is invalid, refused: \(error)")
        }
    }

    private static func run(_ settings: Settings, loops: ProxyLoops, logger: Logger) async {
        var index = loops.snapshot.version
        var failures = 0
        while !Task.isCancelled {
            do {
                let asked = NIODeadline.now()
                let snapshot = try Self.snapshot(
                    from: try await query(settings, index: index, wait: settings.wait).get())
                if failures > 0 { logger.info("discovery works again after \(failures) failed attempt(s)") }
                failures = 0
                loops.heardFromRegistry()
                guard snapshot.version != index else {
                    // The wait ended without a change. A registry that answers at
                    // once instead of blocking (an old one, a proxy in between) is
                    // asked at most once a second, never in a tight loop.
                    let elapsed = NIODeadline.now() - asked
                    if elapsed < .seconds(1) {
                        try? await Task.sleep(nanoseconds: UInt64((TimeAmount.seconds(1) - elapsed).nanoseconds))
                    }
                    continue
                }
                loops.apply(ProxySnapshot(snapshot, namespace: settings.namespace))
                index = snapshot.version
                logger.info(
                    "applied snapshot version \(snapshot.version) from the registry: \(snapshot.summary)"
                )
                persist(snapshot, to: settings.snapshotFile, logger: logger)
            } catch {
                if Task.isCancelled { return }
                failures += 1
                let ceiling = min(30.0, 0.5 * Double(1 << min(failures - 1, 6)))
                let delay = ceiling * Double.random(in: 0.5...1.0)
                logger.warning(
                    "discovery failed (attempt \(failures)); serving snapshot version \(loops.snapshot.version), retrying in \((delay * 10).rounded() / 10) s: \(error)"
                )
                try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            }
        }
    }

    /// Writes the snapshot where the next start will find it: a temporary file
    /// renamed over the old one, so a crash mid-write leaves the old one whole.
    public static func persist(_ snapshot: DiscoverySnapshot, to path: String, logger: Logger) {
        do {
            let data = try WeftJSON.encode(snapshot, pretty: true)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            logger.warning("cannot keep snapshot version \(snapshot.version) in \(path): \(error)")
        }
    }
}
