import ArgumentParser
import Dispatch
import Logging
import NIOCore
import WeftProtocol
import WeftService
import WeftSidecar

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
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

    @Option(
        help: ArgumentHelp(
            "The admin port (/live, /ready, /metrics), or 'off' (default 127.0.0.1:15000). Env: WEFT_ADMIN.",
            valueName: "host:port"))
    var admin: String?

    @Option(
        help: ArgumentHelp("PEM certificate chain, leaf first. Env: WEFT_CERTIFICATE.", valueName: "file"))
    var certificate: String?

    @Option(help: ArgumentHelp("PEM private key of the certificate. Env: WEFT_KEY.", valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("PEM trust bundle (the CA's roots). Env: WEFT_TRUST_BUNDLE.", valueName: "file"))
    var trustBundle: String?

    @Option(
        help: ArgumentHelp(
            "Discovery snapshot JSON: upstreams, endpoints, intentions. Env: WEFT_SNAPSHOT_FILE.", valueName: "file"))
    var snapshotFile: String?

    @Option(
        help: ArgumentHelp(
            "The registry to watch for configuration, http://host:port. Env: WEFT_REGISTRY.", valueName: "url"))
    var registry: String?

    @Option(
        help: ArgumentHelp(
            "File holding the registry credential (wsc_… for this service, or the admin token). Env: WEFT_REGISTRY_TOKEN_FILE.",
            valueName: "file"))
    var registryTokenFile: String?

    @Option(help: ArgumentHelp("Event loop threads (default 1). Env: WEFT_THREADS.", valueName: "n"))
    var threads: Int?

    @Option(
        help: ArgumentHelp(
            "On SIGTERM or SIGINT, seconds in-flight requests may take to finish (default 10). Env: WEFT_DRAIN_TIMEOUT.",
            valueName: "seconds"))
    var drainTimeout: Int?

    @Option(
        help: ArgumentHelp(
            "trace, debug, info, notice, warning, error or critical (default info). Env: WEFT_LOG_LEVEL.",
            valueName: "level"))
    var logLevel: String?

    /// Reads every setting; a bad one is a usage error (exit 64) naming the flag.
    func settings() throws -> (SidecarConfiguration, Logger.Level) {
        let settings = ServiceSettings(environment: ProcessInfo.processInfo.environment)
        func required(_ flag: String?, _ variable: String, _ name: String) throws -> String {
            guard let value = settings.value(flag, variable) else {
                throw ValidationError("\(name) is required (or \(variable))")
            }
            return value
        }
        func address(_ flag: String?, _ variable: String, _ name: String, default fallback: String?) throws
            -> ListenAddress?
        {
            guard let text = settings.value(flag, variable) ?? fallback, text != "off" else { return nil }
            do {
                return try ListenAddress(validating: text)
            } catch {
                throw ValidationError("\(name): \(error.reason)")
            }
        }
        do {
            let level = try settings.logLevel(logLevel)
            let serviceName: ServiceName
            let namespaceName: NamespaceName
            do {
                serviceName = try ServiceName(validating: try required(service, "WEFT_SERVICE", "--service"))
            } catch let error as ProtocolError {
                throw ValidationError("--service: \(error.reason)")
            }
            do {
                namespaceName = try NamespaceName(validating: settings.value(namespace, "WEFT_NAMESPACE") ?? "default")
            } catch {
                throw ValidationError("--namespace: \(error.reason)")
            }
            let appAddress = try address(app, "WEFT_APP", "--app", default: nil)
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
            let inboundAddress = try address(inbound, "WEFT_INBOUND", "--inbound", default: "0.0.0.0:15443")!
            var configuration = SidecarConfiguration(
                service: ServiceReference(service: serviceName, namespace: namespaceName), inbound: inboundAddress,
                applicationHost: appAddress.host, applicationPort: appAddress.port, applicationProtocol: protocolKind,
                upstreams: ports,
                outboundProxy: try address(
                    outboundProxy, "WEFT_OUTBOUND_PROXY", "--outbound-proxy", default: "127.0.0.1:15001"),
                admin: try address(admin, "WEFT_ADMIN", "--admin", default: "127.0.0.1:15000"),
                certificateFile: try required(certificate, "WEFT_CERTIFICATE", "--certificate"),
                keyFile: try required(key, "WEFT_KEY", "--key"),
                bundleFile: try required(trustBundle, "WEFT_TRUST_BUNDLE", "--trust-bundle"),
                snapshotFile: try required(snapshotFile, "WEFT_SNAPSHOT_FILE", "--snapshot-file"))
            if let url = settings.value(registry, "WEFT_REGISTRY") {
                do {
                    configuration.registry = try ControlPlaneClient.Endpoint(url: url)
                } catch {
                    throw ValidationError("--registry: \(error)")
                }
                guard let tokenFile = settings.value(registryTokenFile, "WEFT_REGISTRY_TOKEN_FILE") else {
                    throw ValidationError("--registry needs --registry-token-file (or WEFT_REGISTRY_TOKEN_FILE)")
                }
                configuration.registryTokenFile = tokenFile
            }
            configuration.threads = try settings.integer(threads, "WEFT_THREADS", "--threads", 1...64) ?? 1
            configuration.drainTimeout =
                try settings.integer(drainTimeout, "WEFT_DRAIN_TIMEOUT", "--drain-timeout", 0...3600) ?? 10
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
        // --drain-timeout, stop. A second signal changes nothing.
        let stop = DispatchSemaphore(value: 0)
        let signals = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            return source
        }
        stop.wait()
        let open = ([sidecar.inbound] + sidecar.outbound).map(\.connections.count).reduce(0, +)
        logger.info("draining \(open) connection(s) for up to \(configuration.drainTimeout)s")
        sidecar.shutdown(deadline: .seconds(Int64(configuration.drainTimeout)))
        for source in signals { source.cancel() }
        logger.info("weft-sidecar stopped")
    }
}
