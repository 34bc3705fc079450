import ArgumentParser
import Logging
import NIOCore
import WeftProtocol
import WeftProxy
import WeftProxyCommand
import WeftService
import WeftSidecar

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `weft-sidecar`: read flags and `WEFT_*` variables, start the proxy, run until
/// SIGTERM or SIGINT, drain.
@main
struct WeftSidecarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft-sidecar",
        abstract: "The Weft proxy beside a workload: mutual-TLS HTTP/2 in, plain HTTP to the app and out.",
        discussion: """
            Inbound: the mesh port (--inbound) takes HTTP/2 over TLS 1.3 from other proxies, \
            requires their Weft certificates, authorizes each caller by its SPIFFE identity \
            against the intentions of the snapshot (deny unless allowed), and forwards to the \
            application (--app) over HTTP/1.1 or h2c (--app-protocol).

            Outbound: the application calls an upstream on its own loopback port \
            (--upstream cart=127.0.0.1:9001) or through the HTTP proxy port \
            (HTTP_PROXY=http://127.0.0.1:15001, then http://cart/...), in HTTP/1.1, h2c or \
            gRPC; each request goes to an endpoint of the upstream over mutual-TLS HTTP/2. \
            On the proxy port, CONNECT cart:5432 opens a TCP tunnel to cart's application, \
            carried as an HTTP/2 CONNECT stream (the destination's sidecar dials only its \
            own application, whatever port is named).

            Configuration comes from the registry's discovery API (--registry, with \
            --registry-token-file), watched with blocking queries for this service's \
            upstreams and the intentions guarding it; each snapshot is validated before it \
            is applied and kept in --snapshot-file, from which a restart begins when the \
            registry is unreachable. Without --registry, --snapshot-file alone configures \
            the sidecar and is reread when it changes. Admin port: /live, /ready, /metrics.

            Every option can also be set through the environment variable named in its help \
            (a flag wins). Exit status: 64 for a bad flag, 78 when the certificate, key, \
            bundle or snapshot cannot be used, 0 after a graceful stop.
            """)

    @Option(help: ArgumentHelp("This workload's service name. Env: WEFT_SERVICE.", valueName: "name"))
    var service: String?

    @Option(help: ArgumentHelp("Its namespace (default: default). Env: WEFT_NAMESPACE.", valueName: "name"))
    var namespace: String?

    @Option(
        help: ArgumentHelp(
            "The mesh port other proxies call (default 0.0.0.0:15443). Env: WEFT_INBOUND.", valueName: "host:port"))
    var inbound: String?

    @Option(help: ArgumentHelp("Where the application listens. Env: WEFT_APP.", valueName: "host:port"))
    var app: String?

    @Option(
        help: ArgumentHelp(
            "What the application speaks: http (HTTP/1.1), http2 or grpc (h2c), or tcp (reached only through CONNECT tunnels) (default http). Env: WEFT_APP_PROTOCOL.",
            valueName: "protocol"))
    var appProtocol: String?

    @Option(
        name: .customLong("upstream"),
        help: ArgumentHelp(
            "An upstream on a local port, repeatable: name=host:port (name, name.namespace). Env: WEFT_UPSTREAMS (comma-separated).",
            valueName: "name=host:port"))
    var upstreams: [String] = []

    @Option(
        help: ArgumentHelp(
            "The outbound HTTP proxy port, or 'off' (default 127.0.0.1:15001). Env: WEFT_OUTBOUND_PROXY.",
            valueName: "host:port"))
    var outboundProxy: String?

    @Flag(
        help: ArgumentHelp(
            "Register the application's instance with the registry, heartbeat its health checks, deregister on shutdown (needs --registry). Env: WEFT_REGISTER=1."
        ))
    var register = false

    @Option(
        help: ArgumentHelp(
            "The address other proxies reach the inbound port at, host or host:port (default: the inbound address, or this host's name when it listens on all). Env: WEFT_ADVERTISE.",
            valueName: "host[:port]"))
    var advertise: String?

    @Option(
        help: ArgumentHelp(
            "The registered instance's id (default <host name>-<inbound port>). Env: WEFT_INSTANCE_ID.",
            valueName: "id"))
    var instanceID: String?

    @Option(
        help: ArgumentHelp(
            "This sidecar's zone: calls prefer upstream endpoints in it, and a registered instance carries it. Env: WEFT_ZONE.",
            valueName: "zone"))
    var zone: String?

    @Option(
        help: ArgumentHelp(
            "This sidecar's datacenter: when its zone cannot serve, calls go to the rest of it before other datacenters (endpoints' `datacenter` label). Env: WEFT_DATACENTER.",
            valueName: "name"))
    var datacenter: String?

    @Option(
        name: .customLong("label"),
        help: ArgumentHelp(
            "A label on the instance, repeatable: key=value (version=v2, firmware=2.1). Env: WEFT_LABELS (comma-separated).",
            valueName: "key=value"))
    var labels: [String] = []

    @Option(
        help: ArgumentHelp(
            "Seconds the registry keeps the instance without a heartbeat, 5 to 600 (default 30). Env: WEFT_TTL.",
            valueName: "seconds"))
    var ttl: Int?

    @Option(
        help: ArgumentHelp(
            "How the application's health is checked: tcp (connect), http:/path (2xx), or none (default tcp). Env: WEFT_HEALTH_CHECK.",
            valueName: "check"))
    var healthCheck: String?

    @Option(
        help: ArgumentHelp(
            "Seconds between health checks and heartbeats (default a third of --ttl). Env: WEFT_HEALTH_INTERVAL.",
            valueName: "seconds"))
    var healthInterval: Int?

    @Option(
        help: ArgumentHelp(
            "With --register, seconds between reporting the instance critical on SIGTERM and closing its ports to new requests, for callers to learn it is leaving (default 2). Env: WEFT_DRAIN_DELAY.",
            valueName: "seconds"))
    var drainDelay: Int?

    @OptionGroup var host: ProxyHostOptions

    /// Reads every setting; a bad one is a usage error (exit 64) naming the flag.
    func settings() throws -> (SidecarConfiguration, Logger.Level) {
        let settings = ServiceSettings(environment: ProcessInfo.processInfo.environment)
        do {
            let (host, level) = try self.host.configuration(settings)
            let reference = try settings.serviceReference(service, "WEFT_SERVICE", "--service", namespace: namespace)
            let appAddress = try settings.address(app, "WEFT_APP", "--app", default: nil)
            guard let appAddress else { throw ValidationError("--app is required (or WEFT_APP)") }
            let protocolText = settings.value(appProtocol, "WEFT_APP_PROTOCOL") ?? "http"
            guard let protocolKind = ServiceProtocol(rawValue: protocolText) else {
                throw ValidationError(
                    "--app-protocol: expected http, http2, grpc or tcp, got \(protocolText.prefix(40))")
            }
            var upstreamTexts = upstreams
            if upstreamTexts.isEmpty, let variable = settings.environment["WEFT_UPSTREAMS"] {
                upstreamTexts = variable.split(separator: ",").map { String($0) }
            }
            var ports: [SidecarConfiguration.UpstreamPort] = []
            for text in upstreamTexts {
                guard let equals = text.firstIndex(of: "=") else {
                    throw ValidationError("--upstream \(text.prefix(80)): expected name=host:port")
                }
                let name = String(text[..<equals])
                let labels = name.split(separator: ".", omittingEmptySubsequences: false)
                guard (1...3).contains(labels.count),
                    labels.allSatisfy({ (try? ServiceName(validating: String($0))) != nil })
                else {
                    throw ValidationError("--upstream \(text.prefix(80)): \(name.prefix(80)) is not a service name")
                }
                guard let listen = try? ListenAddress(validating: String(text[text.index(after: equals)...])) else {
                    throw ValidationError("--upstream \(text.prefix(80)): expected name=host:port")
                }
                ports.append(.init(name: name, host: listen.host, port: listen.port))
            }
            let inboundAddress = try settings.address(inbound, "WEFT_INBOUND", "--inbound", default: "0.0.0.0:15443")!
            let configuration = SidecarConfiguration(
                service: reference, inbound: inboundAddress,
                applicationHost: appAddress.host, applicationPort: appAddress.port, applicationProtocol: protocolKind,
                upstreams: ports,
                outboundProxy: try settings.address(
                    outboundProxy, "WEFT_OUTBOUND_PROXY", "--outbound-proxy", default: "127.0.0.1:15001"),
                host: host)
            var withRegistration = configuration
            withRegistration.locality = Locality(
                zone: settings.value(zone, "WEFT_ZONE"), datacenter: settings.value(datacenter, "WEFT_DATACENTER"))
            withRegistration.registration = try registration(settings, registry: host.registry != nil)
            if let datacenter = withRegistration.locality.datacenter, var registration = withRegistration.registration,
                registration.labels["datacenter"] == nil
            {
                var labels = registration.labels.values
                labels["datacenter"] = datacenter
                registration.labels = try Labels(labels)
                withRegistration.registration = registration
            }
            return (withRegistration, level)
        } catch let error as ServiceSettings.Invalid {
            throw ValidationError(error.description)
        }
    }

    /// The instance `--register` registers, or nil without it.
    func registration(_ settings: ServiceSettings, registry: Bool) throws -> SidecarConfiguration.Registration? {
        guard register || settings.value(nil, "WEFT_REGISTER").map({ ["1", "true", "yes"].contains($0) }) == true
        else {
            for (flag, variable, given) in [
                ("--advertise", "WEFT_ADVERTISE", advertise), ("--instance-id", "WEFT_INSTANCE_ID", instanceID),
                ("--health-check", "WEFT_HEALTH_CHECK", healthCheck),
                ("--drain-delay", "WEFT_DRAIN_DELAY", drainDelay.map(String.init)),
            ] where settings.value(given, variable) != nil {
                throw ValidationError("\(flag) needs --register")
            }
            if !labels.isEmpty { throw ValidationError("--label needs --register") }
            return nil
        }
        guard registry else { throw ValidationError("--register needs --registry (or WEFT_REGISTRY)") }
        var registration = SidecarConfiguration.Registration()
        if let text = settings.value(advertise, "WEFT_ADVERTISE") {
            var hostPart = Substring(text)
            if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]"),
                text.filter({ $0 == ":" }).count == 1
                    || text.hasPrefix("[")
            {
                guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
                    throw ValidationError("--advertise: expected host or host:port, got \(text.prefix(80))")
                }
                registration.port = port
                hostPart = text[..<colon]
            }
            if hostPart.hasPrefix("["), hostPart.hasSuffix("]") { hostPart = hostPart.dropFirst().dropLast() }
            do {
                registration.address = try HostAddress(validating: String(hostPart))
            } catch {
                throw ValidationError("--advertise: \(error.reason)")
            }
        }
        if let text = settings.value(instanceID, "WEFT_INSTANCE_ID") {
            do {
                registration.id = try InstanceID(validating: text)
            } catch {
                throw ValidationError("--instance-id: \(error.reason)")
            }
        }
        registration.zone = settings.value(zone, "WEFT_ZONE")
        var labelTexts = labels
        if labelTexts.isEmpty, let variable = settings.environment["WEFT_LABELS"] {
            labelTexts = variable.split(separator: ",").map(String.init)
        }
        var values: [String: String] = [:]
        for text in labelTexts {
            guard let equals = text.firstIndex(of: "=") else {
                throw ValidationError("--label \(text.prefix(80)): expected key=value")
            }
            values[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        do {
            registration.labels = try Labels(values)
        } catch {
            throw ValidationError("--label: \(error.reason)")
        }
        let ttlSeconds = try settings.integer(ttl, "WEFT_TTL", "--ttl", 5...600) ?? 30
        registration.ttl = .seconds(Int64(ttlSeconds))
        registration.drainDelay = Int64(
            try settings.integer(drainDelay, "WEFT_DRAIN_DELAY", "--drain-delay", 0...300) ?? 2)
        registration.interval = try settings.integer(
            healthInterval, "WEFT_HEALTH_INTERVAL", "--health-interval", 1...600
        ).map { Int64($0) }
        switch settings.value(healthCheck, "WEFT_HEALTH_CHECK") ?? "tcp" {
        case "tcp": registration.check = .tcp
        case "none": registration.check = .none
        case let text where text.hasPrefix("http:/"):
            registration.check = .http(path: String(text.dropFirst("http:".count)))
        case let text:
            throw ValidationError("--health-check: expected tcp, http:/path or none, got \(text.prefix(80))")
        }
        return registration
    }

    func run() throws {
        let (configuration, level) = try settings()
        ServiceSettings.bootstrapLogging(level: level)
        let logger = Logger(label: "weft-sidecar")
        let sidecar: Sidecar
        do {
            sidecar = try Sidecar.start(configuration, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)  // EX_CONFIG: an input the operator must fix
        }
        var ports = ["inbound \(configuration.inbound.host):\(sidecar.inbound.port)"]
        for listener in sidecar.outbound {
            ports.append("\(listener.name) \(listener.channel.localAddress?.description ?? "?")")
        }
        if let admin = sidecar.admin { ports.append("admin port \(admin.port)") }
        logger.info(
            "weft-sidecar \(sidecar.identity) ready (snapshot version \(sidecar.loops.snapshot.version)): \(ports.joined(separator: ", "))"
        )

        // SIGTERM/SIGINT: stop accepting, let in-flight requests finish for up to
        // --drain-timeout, stop.
        ProxyProcess.runUntilSignalled {
            let open = ([sidecar.inbound] + sidecar.outbound).map(\.connections.count).reduce(0, +)
            logger.info("draining \(open) connection(s) for up to \(configuration.host.drainTimeout)s")
            sidecar.shutdown(deadline: .seconds(Int64(configuration.host.drainTimeout)))
        }
        logger.info("weft-sidecar stopped")
    }
}
