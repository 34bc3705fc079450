public import Logging
internal import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
import NIOPosix
public import WeftProtocol
public import WeftService

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How a sidecar registers its application's instance and tells the registry
/// how it is doing.
public struct RegistrationSettings: Sendable {
    /// What proves the application alive.
    public enum HealthCheck: Sendable, Equatable {
        /// A TCP connection to the application's port is accepted.
        case tcp
        /// `GET path` on the application answers 2xx.
        case http(path: String)
        /// Nothing checked: the instance is passing while the sidecar runs.
        case none
    }

    /// The instance as registered (its `health` is what the checks say).
    public var instance: Instance
    public var check: HealthCheck = .tcp
    /// Between checks, each followed by a heartbeat (a third of the TTL by default).
    public var interval: TimeAmount
    /// Consecutive failed checks before the instance is reported critical.
    public var failuresToCritical = 3

    public init(instance: Instance, check: HealthCheck = .tcp, interval: TimeAmount? = nil) {
        self.instance = instance
        self.check = check
        self.interval = interval ?? .milliseconds(instance.ttl.milliseconds / 3)
    }
}

/// Keeps the application's instance registered while the sidecar runs: it
/// registers (again whenever the registry answers that it does not know the
/// instance: reaped after an outage, a restored database), checks the
/// application every interval and heartbeats the result, marks the instance
/// critical when the sidecar starts draining (so callers stop choosing it) and
/// deregisters it when the drain is over.
///
/// Calls go on a client group of their own, so deregistration still works
/// after the proxy's event loops have stopped.
public final class InstanceRegistrar: Sendable {
    private let settings: RegistrationSettings
    private let client: ControlPlaneClient
    private let tokenFile: String
    private let application: (host: String, port: Int)
    private let logger: Logger
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    /// The health last reported, for /ready and tests.
    private let reported = NIOLockedValueBox<HealthState?>(nil)

    /// - Parameters:
    ///   - client: the registry, on a group that outlives the proxy's loops
    ///     (plain HTTP, or mutual TLS with the proxy's certificate).
    ///   - tokenFile: the credential over HTTP; empty over mutual TLS.
    public init(
        settings: RegistrationSettings, client: ControlPlaneClient, tokenFile: String,
        application: (host: String, port: Int), logger: Logger
    ) {
        self.settings = settings
        self.client = client
        self.tokenFile = tokenFile
        self.application = application
        self.logger = logger
    }

    public var instance: Instance { settings.instance }
    public var lastReported: HealthState? { reported.withLockedValue { $0 } }

    private var path: String {
        let instance = settings.instance
        return "\(APIPaths.instances)/\(instance.namespace)/\(instance.service)/\(instance.id)"
    }

    public func start() {
        let started = Task { [self] in await run() }
        task.withLockedValue { $0 = started }
    }

    private func run() async {
        var registered = false
        var failedChecks = 0
        var failedCalls = 0
        var health: HealthState = .passing
        while !Task.isCancelled {
            if await checkApplication() {
                if failedChecks >= settings.failuresToCritical {
                    logger.notice("the application passes its health check again")
                }
                failedChecks = 0
                health = .passing
            } else {
                failedChecks += 1
                if failedChecks == settings.failuresToCritical {
                    logger.warning(
                        "the application failed \(failedChecks) health checks in a row; reporting it critical")
                }
                if failedChecks >= settings.failuresToCritical { health = .critical }
            }
            do {
                if !registered {
                    try await register(health: health)
                    registered = true
                    logger.info(
                        "registered instance \(settings.instance.id) (\(settings.instance.address):\(settings.instance.port), \(health))"
                    )
                } else if try await heartbeat(health: health) == .unknown {
                    logger.notice("the registry no longer knows instance \(settings.instance.id); registering again")
                    try await register(health: health)
                }
                reported.withLockedValue { $0 = health }
                if failedCalls > 0 { logger.info("the registry answers again after \(failedCalls) failed call(s)") }
                failedCalls = 0
            } catch {
                failedCalls += 1
                logger.warning("cannot reach the registry (attempt \(failedCalls)): \(error)")
            }
            // After failures, retry sooner than the interval, but never spin.
            let wait =
                failedCalls == 0
                ? settings.interval : min(settings.interval, .milliseconds(250 << min(failedCalls - 1, 4)))
            try? await Task.sleep(nanoseconds: UInt64(max(wait.nanoseconds, 50_000_000)))
        }
    }

    /// Reports the instance critical: the first step of a drain. Waits at most
    /// `deadline`; a registry that does not answer does not hold the drain up.
    public func markDraining(deadline: TimeAmount = .seconds(2)) {
        task.withLockedValue { $0?.cancel() }
        do {
            _ = try call(.PUT, path + "/heartbeat", body: #"{"health":"critical"}"#, deadline: deadline).wait()
            logger.info("instance \(settings.instance.id) marked critical for the drain")
        } catch {
            logger.warning("cannot mark the instance critical before draining: \(error)")
        }
    }

    /// Removes the instance: the last step of a drain.
    public func deregister(deadline: TimeAmount = .seconds(2)) {
        task.withLockedValue { $0?.cancel() }
        do {
            let response = try call(.DELETE, path, body: nil, deadline: deadline).wait()
            guard (200..<300).contains(response.status) || response.status == 404 else {
                throw ControlPlaneError("the registry answered \(response.status)")
            }
            logger.info("instance \(settings.instance.id) deregistered")
        } catch {
            logger.warning("cannot deregister the instance; it expires with its TTL instead: \(error)")
        }
    }

    // MARK: Calls

    private enum Beat { case accepted, unknown }

    private func register(health: HealthState) async throws {
        var instance = settings.instance
        instance.health = health
        let response = try await call(
            .PUT, path, body: String(decoding: try WeftJSON.encode(instance), as: UTF8.self), deadline: .seconds(10)
        ).get()
        try Self.check(response)
    }

    private func heartbeat(health: HealthState) async throws -> Beat {
        let response = try await call(
            .PUT, path + "/heartbeat", body: #"{"health":"\#(health.rawValue)"}"#, deadline: .seconds(10)
        ).get()
        if response.status == 404 { return .unknown }
        try Self.check(response)
        return .accepted
    }

    private static func check(_ response: ControlPlaneClient.Response) throws {
        guard !(200..<300).contains(response.status) else { return }
        let detail = (try? WeftJSON.decode(Problem.self, from: Data(response.body), unknownFields: .ignore))?.detail
        throw ControlPlaneError("the registry answered \(response.status)\(detail.map { ": \($0)" } ?? "")")
    }

    private func call(_ method: NIOHTTP1.HTTPMethod, _ path: String, body: String?, deadline: TimeAmount)
        -> EventLoopFuture<ControlPlaneClient.Response>
    {
        var headers: [(String, String)] = []
        if !tokenFile.isEmpty {
            do {
                let text = try String(contentsOfFile: tokenFile, encoding: .utf8)
                headers.append(("authorization", "Bearer \(text.split(whereSeparator: \.isWhitespace).first ?? "")"))
            } catch {
                return client.group.next().makeFailedFuture(
                    ControlPlaneError("cannot read the registry token file \(tokenFile): \(error)"))
            }
        }
        if body != nil { headers.append(("content-type", "application/json")) }
        return client.send(method, path, headers: headers, body: body.map { Array($0.utf8) }, deadline: deadline)
    }

    // MARK: Health checks

    private func checkApplication() async -> Bool {
        switch settings.check {
        case .none:
            return true
        case .tcp:
            let connected = ClientBootstrap(group: client.group)
                .connectTimeout(.seconds(2))
                .connect(host: application.host, port: application.port)
            guard let channel = try? await connected.get() else { return false }
            try? await channel.close()
            return true
        case .http(let path):
            guard let endpoint = try? ControlPlaneClient.Endpoint(url: "http://\(Self.authority(application))")
            else { return false }
            let probe = ControlPlaneClient(endpoint: endpoint, group: client.group)
            guard let response = try? await probe.send(.GET, path, deadline: .seconds(2)).get() else { return false }
            return (200..<300).contains(response.status)
        }
    }

    private static func authority(_ address: (host: String, port: Int)) -> String {
        address.host.contains(":") ? "[\(address.host)]:\(address.port)" : "\(address.host):\(address.port)"
    }
}
