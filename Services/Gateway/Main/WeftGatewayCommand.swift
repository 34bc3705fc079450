import ArgumentParser
import Logging
import WeftGateway
import WeftProtocol
import WeftProxy
import WeftProxyCommand
import WeftService

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `weft-gateway`: read flags and `WEFT_*` variables, start the gateway, run
/// until SIGTERM or SIGINT, drain.
@main
struct WeftGatewayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft-gateway",
        abstract: "The Weft edge gateway: external HTTP routed by request properties into the mesh.",
        discussion: """
            External clients call --listen over HTTP/1.1 or h2c, and --tls-listen over TLS \
            with the operator's certificates, chosen by the host the client names (SNI) and \
            reread when their files change. Each request is matched \
            against the gateway's route table, in order (the first rule whose every condition \
            holds takes it): host, path, method, headers (exact, prefix, regex, present, \
            absent, and semantic-version ranges such as x-firmware-version: >=2.0.0 <3.0.0), \
            query parameters. The rule's destinations are mesh services, narrowed to instances \
            carrying a label subset (version: v2), split by weight, sticky by a header where \
            the rule says so (a terminal id keeps a terminal on one side of a canary). A request \
            no rule takes is answered 404 with a problem+json body.

            Into the mesh the gateway forwards over mutual-TLS HTTP/2 with its own identity, \
            spiffe://<trust domain>/ns/<namespace>/sa/<name>, which intentions must allow. \
            Weft's own x-weft-* headers from outside are removed; x-forwarded-for, -proto and \
            -host and traceparent are set.

            The route table comes from the registry (--registry: the gateway routes stored \
            under --name, watched with blocking queries, validated, kept in --snapshot-file) \
            or from --snapshot-file alone, reread when it changes. Admin port: /live, /ready, \
            /metrics, GET /routes (the table in force) and POST /routes/explain (which rule \
            would take a request, and why each earlier one did not).

            Every option can also be set through the environment variable named in its help \
            (a flag wins). Exit status: 64 for a bad flag, 78 when the certificate, key, \
            bundle or snapshot cannot be used, 0 after a graceful stop.
            """)

    @Option(
        help: ArgumentHelp(
            "The gateway's name: its mesh identity and the key of its route table. Env: WEFT_GATEWAY_NAME.",
            valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("Its namespace (default: default). Env: WEFT_NAMESPACE.", valueName: "name"))
    var namespace: String?

    @Option(
        help: ArgumentHelp(
            "Where external clients connect, HTTP/1.1 and h2c (default 0.0.0.0:8080). Env: WEFT_LISTEN.",
            valueName: "host:port"))
    var listen: String?

    @Option(
        help: ArgumentHelp(
            "Client connections at most; past it new ones are closed as they arrive (default 10000). Env: WEFT_MAX_CONNECTIONS.",
            valueName: "count"))
    var maxConnections: Int?

    @Option(
        help: ArgumentHelp(
            "Seconds a client has from a request's first byte to its whole head (past it, 408), and a new connection to show its first bytes (default 10). Env: WEFT_HEADER_READ_TIMEOUT.",
            valueName: "seconds"))
    var headerReadTimeout: Int?

    @Option(
        help: ArgumentHelp(
            "Seconds a client connection may stay idle between requests (default 60). Env: WEFT_IDLE_TIMEOUT.",
            valueName: "seconds"))
    var idleTimeout: Int?

    @Option(
        help: ArgumentHelp(
            "Largest request body in bytes; past it, 413 (default 16777216). Env: WEFT_MAX_REQUEST_BODY.",
            valueName: "bytes"))
    var maxRequestBody: Int?

    @Option(
        help: ArgumentHelp(
            "HTTP/2 streams a client connection may have open at once; more are refused with REFUSED_STREAM (default 100). Env: WEFT_MAX_CONCURRENT_STREAMS.",
            valueName: "count"))
    var maxConcurrentStreams: Int?

    @Option(
        help: ArgumentHelp(
            "Where external clients connect over TLS (ALPN h2 and http/1.1); off by default. Env: WEFT_TLS_LISTEN.",
            valueName: "host:port"))
    var tlsListen: String?

    @Option(
        help: ArgumentHelp(
            "A PEM certificate chain for the TLS listener, leaf first; repeat for several, each served for the DNS names in its SANs (SNI), the first to clients that name no host or another. Reread when the file changes. Env: WEFT_TLS_CERTIFICATES (comma-separated).",
            valueName: "file"))
    var tlsCertificate: [String] = []

    @Option(
        help: ArgumentHelp(
            "The PEM private key of each --tls-certificate, in the same order. Env: WEFT_TLS_KEYS (comma-separated).",
            valueName: "file"))
    var tlsKey: [String] = []

    @Option(
        help: ArgumentHelp(
            "Oldest TLS version the TLS listener accepts: 1.2 or 1.3 (default 1.2). Env: WEFT_TLS_MIN_VERSION.",
            valueName: "version"))
    var tlsMinVersion: String?

    @Flag(
        help: ArgumentHelp(
            "Answer every request on --listen with 308 to the same URL under https:// (needs --tls-listen). Env: WEFT_HTTPS_REDIRECT=1."
        ))
    var httpsRedirect = false

    @Option(
        help: ArgumentHelp(
            "The port named in those redirects, when clients reach the TLS listener on another port than it binds (default: its own; 443 is left out of the URL). Env: WEFT_HTTPS_REDIRECT_PORT.",
            valueName: "port"))
    var httpsRedirectPort: Int?

    @OptionGroup var host: ProxyHostOptions

    /// Reads every setting; a bad one is a usage error (exit 64) naming the flag.
    func settings() throws -> (GatewayConfiguration, Logger.Level) {
        let settings = ServiceSettings(environment: ProcessInfo.processInfo.environment)
        let (host, level) = try self.host.configuration(settings)
        let reference = try settings.serviceReference(name, "WEFT_GATEWAY_NAME", "--name", namespace: namespace)
        let listenAddress = try settings.address(listen, "WEFT_LISTEN", "--listen", default: "0.0.0.0:8080")
        guard let listenAddress else { throw ValidationError("--listen: the gateway needs a port, not off") }
        var configuration = GatewayConfiguration(
            name: reference, listen: listenAddress,
            host: host)
        configuration.limits = try edgeLimits(settings)
        try readTLS(settings, into: &configuration)
        return (configuration, level)
    }

    /// The TLS listener and the redirect to it; a bad value is a usage error.
    func readTLS(_ settings: ServiceSettings, into configuration: inout GatewayConfiguration) throws {
        func list(_ flag: [String], _ variable: String) -> [String] {
            if !flag.isEmpty { return flag }
            return (settings.value(nil, variable) ?? "").split(separator: ",").map {
                String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
            }.filter { !$0.isEmpty }
        }
        let certificates = list(tlsCertificate, "WEFT_TLS_CERTIFICATES")
        let keys = list(tlsKey, "WEFT_TLS_KEYS")
        let redirect = httpsRedirect || settings.value(nil, "WEFT_HTTPS_REDIRECT") == "1"
        let redirectPort = try settings.integer(
            httpsRedirectPort, "WEFT_HTTPS_REDIRECT_PORT", "--https-redirect-port", 1...65_535)
        guard let address = try settings.address(tlsListen, "WEFT_TLS_LISTEN", "--tls-listen", default: nil) else {
            guard certificates.isEmpty, keys.isEmpty, !redirect, redirectPort == nil else {
                throw ValidationError(
                    "--tls-certificate, --tls-key and --https-redirect need --tls-listen, the port TLS is served on")
            }
            return
        }
        guard !certificates.isEmpty else {
            throw ValidationError("--tls-listen: needs at least one --tls-certificate with its --tls-key")
        }
        guard certificates.count == keys.count else {
            throw ValidationError(
                "--tls-key: \(keys.count) key(s) for \(certificates.count) certificate(s); give one key per certificate, in the same order"
            )
        }
        guard redirectPort == nil || redirect else {
            throw ValidationError("--https-redirect-port: only with --https-redirect")
        }
        var tls = GatewayConfiguration.TLSListener(
            listen: address,
            certificates: zip(certificates, keys).map { GatewayCertificates.Files(certificate: $0, key: $1) })
        switch settings.value(tlsMinVersion, "WEFT_TLS_MIN_VERSION") ?? "1.2" {
        case "1.2": tls.minimumVersion = .tls12
        case "1.3": tls.minimumVersion = .tls13
        case let other: throw ValidationError("--tls-min-version: \(other) is not 1.2 or 1.3")
        }
        configuration.tls = tls
        configuration.redirectToHTTPS = redirect
        configuration.redirectToHTTPSPort = redirectPort
    }

    /// What every client is held to; a bad value is a usage error naming the flag.
    func edgeLimits(_ settings: ServiceSettings) throws -> EdgeLimits {
        do {
            return try readEdgeLimits(settings)
        } catch let error as ServiceSettings.Invalid {
            throw ValidationError(error.description)
        }
    }

    private func readEdgeLimits(_ settings: ServiceSettings) throws -> EdgeLimits {
        var limits = EdgeLimits()
        if let value = try settings.integer(maxConnections, "WEFT_MAX_CONNECTIONS", "--max-connections", 1...1_000_000)
        {
            limits.maximumConnections = value
        }
        if let value = try settings.integer(
            headerReadTimeout, "WEFT_HEADER_READ_TIMEOUT", "--header-read-timeout", 1...600)
        {
            limits.headerReadTimeout = .seconds(Int64(value))
        }
        if let value = try settings.integer(idleTimeout, "WEFT_IDLE_TIMEOUT", "--idle-timeout", 1...86_400) {
            limits.idleTimeout = .seconds(Int64(value))
        }
        if let value = try settings.integer(
            maxRequestBody, "WEFT_MAX_REQUEST_BODY", "--max-request-body", 0...(1 << 34))
        {
            limits.maximumRequestBody = value
        }
        if let value = try settings.integer(
            maxConcurrentStreams, "WEFT_MAX_CONCURRENT_STREAMS", "--max-concurrent-streams", 1...10_000)
        {
            limits.maximumConcurrentStreams = UInt32(value)
        }
        return limits
    }

    func run() throws {
        let (configuration, level) = try settings()
        ServiceSettings.bootstrapLogging(level: level)
        let logger = Logger(label: "weft-gateway")
        let gateway: Gateway
        do {
            gateway = try Gateway.start(configuration, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)  // EX_CONFIG: an input the operator must fix
        }
        var ports = gateway.listeners.map { "\($0.name) \($0.channel.localAddress?.description ?? "?")" }
        if let admin = gateway.admin { ports.append("admin port \(admin.port)") }
        let snapshot = gateway.loops.snapshot
        logger.info(
            "weft-gateway \(gateway.identity) ready (snapshot version \(snapshot.version), \(snapshot.gatewayRoutes.routes.count) route(s)): \(ports.joined(separator: ", "))"
        )
        ProxyProcess.runUntilSignalled {
            let open = gateway.listeners.map(\.connections.count).reduce(0, +)
            logger.info("draining \(open) connection(s) for up to \(configuration.host.drainTimeout)s")
            gateway.shutdown(deadline: .seconds(Int64(configuration.host.drainTimeout)))
        }
        logger.info("weft-gateway stopped")
    }
}
