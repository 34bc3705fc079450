public import ArgumentParser
import Dispatch
public import Logging
import WeftIdentity
public import WeftProtocol
public import WeftProxy
public import WeftService

#if canImport(Glibc)
    import Glibc
#endif

/// The flags every Weft proxy executable shares (weft-sidecar, weft-gateway):
/// its mesh certificate, where its configuration comes from, its admin port,
/// threads, drain time and log level. Declared once so that both read, name and
/// check them alike.
public struct ProxyHostOptions: ParsableArguments {
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

    /// --ca and the flags that go with it.
    @OptionGroup var identity: IdentityOptions

    @Option(
        help: ArgumentHelp(
            "Discovery snapshot JSON: the configuration without a registry, or where the last good one is kept with one. Env: WEFT_SNAPSHOT_FILE.",
            valueName: "file"))
    var snapshotFile: String?

    @Option(
        help: ArgumentHelp(
            "The registry to watch for configuration: http://host:port with --registry-token-file, or https://host:port (its mesh listener), where the proxy's certificate identifies it. Env: WEFT_REGISTRY.",
            valueName: "url"))
    var registry: String?

    @Option(
        help: ArgumentHelp(
            "File holding the registry credential (wsc_… for this service, or the admin token). Env: WEFT_REGISTRY_TOKEN_FILE.",
            valueName: "file"))
    var registryTokenFile: String?

    @Option(
        help: ArgumentHelp(
            "The mesh's trust domain (default: the snapshot's; with an https:// registry, weft.local). Env: WEFT_TRUST_DOMAIN.",
            valueName: "domain"))
    var trustDomain: String?

    @Option(help: ArgumentHelp("Event loop threads (default 1). Env: WEFT_THREADS.", valueName: "n"))
    var threads: Int?

    @Option(
        help: ArgumentHelp(
            "On SIGTERM or SIGINT, seconds in-flight requests may take to finish (default 10). Env: WEFT_DRAIN_TIMEOUT.",
            valueName: "seconds"))
    var drainTimeout: Int?

    @Option(
        help: ArgumentHelp(
            "Write an access log, a JSON line per request, to this file (appended; - for standard output). Off by default. Env: WEFT_ACCESS_LOG.",
            valueName: "file"))
    var accessLog: String?

    @Option(
        help: ArgumentHelp(
            "The share of requests the access log records, 0 to 1 (default 1: every one). Env: WEFT_ACCESS_LOG_SAMPLE.",
            valueName: "ratio"))
    var accessLogSample: String?

    @Option(
        help: ArgumentHelp(
            "Export a span per request to this OpenTelemetry collector over OTLP/HTTP: http://host:port[/path] (path default /v1/traces). Off by default. Env: WEFT_OTLP_ENDPOINT.",
            valueName: "url"))
    var otlpEndpoint: String?

    @Option(
        help: ArgumentHelp(
            "The share of traces this proxy starts that are recorded, 0 to 1 (default 1); a request that arrives with a traceparent keeps its caller's choice. Env: WEFT_TRACE_SAMPLE.",
            valueName: "ratio"))
    var traceSample: String?

    @Option(
        help: ArgumentHelp(
            "trace, debug, info, notice, warning, error or critical (default info). Env: WEFT_LOG_LEVEL.",
            valueName: "level"))
    var logLevel: String?

    public init() {}

    /// Reads the shared settings; a bad one is a usage error (exit 64) naming
    /// the flag.
    public func configuration(_ settings: ServiceSettings) throws -> (ProxyHostConfiguration, Logger.Level) {
        do {
            let level = try settings.logLevel(logLevel)
            let authority = try identity.enrollment(settings)
            let files = [
                ("--certificate", settings.value(certificate, "WEFT_CERTIFICATE")),
                ("--key", settings.value(key, "WEFT_KEY")),
                ("--trust-bundle", settings.value(trustBundle, "WEFT_TRUST_BUNDLE")),
            ]
            if authority != nil, let given = files.first(where: { $0.1 != nil }) {
                throw ValidationError(
                    "\(given.0) and --ca are exclusive: the certificate comes either from files or from weft-ca")
            }
            var host = ProxyHostConfiguration(
                certificateFile: try authority.map { _ in "" }
                    ?? settings.required(certificate, "WEFT_CERTIFICATE", "--certificate"),
                keyFile: try authority.map { _ in "" } ?? settings.required(key, "WEFT_KEY", "--key"),
                bundleFile: try authority.map { _ in "" }
                    ?? settings.required(trustBundle, "WEFT_TRUST_BUNDLE", "--trust-bundle"),
                snapshotFile: try settings.required(snapshotFile, "WEFT_SNAPSHOT_FILE", "--snapshot-file"),
                admin: try settings.address(admin, "WEFT_ADMIN", "--admin", default: "127.0.0.1:15000"))
            host.authority = authority
            if let url = settings.value(registry, "WEFT_REGISTRY") {
                do {
                    host.registry = try ControlPlaneClient.Endpoint(url: url)
                } catch {
                    throw ValidationError("--registry: \(error)")
                }
                if host.registry?.usesTLS == true {
                    if settings.value(registryTokenFile, "WEFT_REGISTRY_TOKEN_FILE") != nil {
                        throw ValidationError(
                            "--registry-token-file is for an http:// registry; over https:// the certificate identifies the proxy"
                        )
                    }
                } else {
                    guard let tokenFile = settings.value(registryTokenFile, "WEFT_REGISTRY_TOKEN_FILE") else {
                        throw ValidationError("--registry needs --registry-token-file (or WEFT_REGISTRY_TOKEN_FILE)")
                    }
                    host.registryTokenFile = tokenFile
                }
            }
            if let domain = settings.value(trustDomain, "WEFT_TRUST_DOMAIN") {
                if let problem = SPIFFEID.trustDomainProblem(domain) {
                    throw ValidationError("--trust-domain: \(problem)")
                }
                host.trustDomain = domain
            }
            host.threads = try settings.integer(threads, "WEFT_THREADS", "--threads", 1...64) ?? 1
            host.drainTimeout =
                try settings.integer(drainTimeout, "WEFT_DRAIN_TIMEOUT", "--drain-timeout", 0...3600) ?? 10
            if let path = settings.value(accessLog, "WEFT_ACCESS_LOG") {
                guard !path.isEmpty else {
                    throw ValidationError("--access-log: give a file, or - for standard output")
                }
                host.accessLog = path
            }
            if let text = settings.value(accessLogSample, "WEFT_ACCESS_LOG_SAMPLE") {
                guard let ratio = Double(text), (0...1).contains(ratio) else {
                    throw ValidationError("--access-log-sample: expected a ratio from 0 to 1, got \(text.prefix(40))")
                }
                host.accessLogSample = ratio
            }
            if let url = settings.value(otlpEndpoint, "WEFT_OTLP_ENDPOINT") {
                do {
                    let (endpoint, path) = try SpanExporter.Settings.parse(url: url)
                    host.otlp = (endpoint, path)
                } catch {
                    throw ValidationError("--otlp-endpoint: \(error)")
                }
            }
            if let text = settings.value(traceSample, "WEFT_TRACE_SAMPLE") {
                guard let ratio = Double(text), (0...1).contains(ratio) else {
                    throw ValidationError("--trace-sample: expected a ratio from 0 to 1, got \(text.prefix(40))")
                }
                guard host.otlp != nil else { throw ValidationError("--trace-sample needs --otlp-endpoint") }
                host.traceSample = ratio
            }
            return (host, level)
        } catch let error as ServiceSettings.Invalid {
            throw ValidationError(error.description)
        }
    }
}

extension ServiceSettings {
    /// A required setting's value, or a usage error naming its flag and variable.
    public func required(_ flag: String?, _ variable: String, _ name: String) throws -> String {
        guard let value = value(flag, variable) else {
            throw ValidationError("\(name) is required (or \(variable))")
        }
        return value
    }

    /// Who a proxy is: the name `flag` gives (or `variable`), in the namespace
    /// of `--namespace` (or `WEFT_NAMESPACE`, default `default`).
    public func serviceReference(_ flag: String?, _ variable: String, _ name: String, namespace: String?) throws
        -> ServiceReference
    {
        let service: ServiceName
        do {
            service = try ServiceName(validating: try required(flag, variable, name))
        } catch let error as ProtocolError {
            throw ValidationError("\(name): \(error.reason)")
        }
        do {
            let namespace = try NamespaceName(validating: value(namespace, "WEFT_NAMESPACE") ?? "default")
            return ServiceReference(service: service, namespace: namespace)
        } catch {
            throw ValidationError("--namespace: \(error.reason)")
        }
    }

    /// A listen address, `fallback` when unset, nil for `off`.
    public func address(_ flag: String?, _ variable: String, _ name: String, default fallback: String?) throws
        -> ListenAddress?
    {
        guard let text = value(flag, variable) ?? fallback, text != "off" else { return nil }
        do {
            return try ListenAddress(validating: text)
        } catch {
            throw ValidationError("\(name): \(error.reason)")
        }
    }
}

/// How a proxy process runs once started: until SIGTERM or SIGINT, then
/// `drain` (stop accepting, let in-flight requests finish, stop). A second
/// signal changes nothing.
public enum ProxyProcess {
    public static func runUntilSignalled(_ drain: () -> Void) {
        let stop = DispatchSemaphore(value: 0)
        let signals = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            return source
        }
        stop.wait()
        drain()
        for source in signals { source.cancel() }
    }
}
