import ArgumentParser
import Logging
import NIOCore
import WeftProtocol
import WeftService
import WeftProxy
import WeftProxyCommand
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
            return (configuration, level)
        } catch let error as ServiceSettings.Invalid {
            throw ValidationError(error.description)
        }
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
