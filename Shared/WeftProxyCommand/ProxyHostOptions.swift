import WeftIdentity
public import ArgumentParser
import Dispatch
public import Logging
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

    @Option(
        help: ArgumentHelp(
            "weft-ca, https://host:port: get the mesh certificate from it (with --join-token-file the first time) and renew it, instead of --certificate, --key and --trust-bundle. Env: WEFT_CA.",
            valueName: "url"))
    var ca: String?

    @Option(
        help: ArgumentHelp(
            "PEM roots the CA must chain to before the proxy has talked to it (weft-ca writes trust-bundle.pem). Env: WEFT_CA_BUNDLE.",
            valueName: "file"))
    var caBundle: String?

    @Option(
        help: ArgumentHelp(
            "Instead of --ca-bundle: the SHA-256 fingerprint of the CA's root, sha256:<hex> (colons allowed, as openssl x509 -fingerprint -sha256 prints it). Env: WEFT_CA_FINGERPRINT.",
            valueName: "sha256:hex"))
    var caFingerprint: String?

    @Option(
        help: ArgumentHelp(
            "File holding a join token (wjt_…) for this proxy's identity; needed while --data-dir holds no valid certificate. Env: WEFT_JOIN_TOKEN_FILE.",
            valueName: "file"))
    var joinTokenFile: String?

    @Option(
        help: ArgumentHelp(
            "Where the key (0600), certificate chain and trust bundle from weft-ca are kept across restarts. Env: WEFT_DATA_DIR.",
            valueName: "dir"))
    var dataDir: String?

    @Option(
        help: ArgumentHelp(
            "Renew the certificate at this percentage of its lifetime, plus up to a fifth of that as jitter (default 50). Env: WEFT_RENEW_AT.",
            valueName: "percent"))
    var renewAt: Int?

    @Option(
        help: ArgumentHelp(
            "Seconds between polls of the CA's trust bundle (default 30). Env: WEFT_BUNDLE_REFRESH.",
            valueName: "seconds"))
    var bundleRefresh: Int?

    @Option(
        help: ArgumentHelp(
            "Discovery snapshot JSON: the configuration without a registry, or where the last good one is kept with one. Env: WEFT_SNAPSHOT_FILE.",
            valueName: "file"))
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

    public init() {}

    /// Reads the shared settings; a bad one is a usage error (exit 64) naming
    /// the flag.
    public func configuration(_ settings: ServiceSettings) throws -> (ProxyHostConfiguration, Logger.Level) {
        do {
            let level = try settings.logLevel(logLevel)
            let authority = try authority(settings)
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
                certificateFile: try authority.map { _ in "" } ?? settings.required(certificate, "WEFT_CERTIFICATE", "--certificate"),
                keyFile: try authority.map { _ in "" } ?? settings.required(key, "WEFT_KEY", "--key"),
                bundleFile: try authority.map { _ in "" } ?? settings.required(trustBundle, "WEFT_TRUST_BUNDLE", "--trust-bundle"),
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
                    throw ValidationError("--registry: the registry's discovery API is plain HTTP for now; use http://")
                }
                guard let tokenFile = settings.value(registryTokenFile, "WEFT_REGISTRY_TOKEN_FILE") else {
                    throw ValidationError("--registry needs --registry-token-file (or WEFT_REGISTRY_TOKEN_FILE)")
                }
                host.registryTokenFile = tokenFile
            }
            host.threads = try settings.integer(threads, "WEFT_THREADS", "--threads", 1...64) ?? 1
            host.drainTimeout =
                try settings.integer(drainTimeout, "WEFT_DRAIN_TIMEOUT", "--drain-timeout", 0...3600) ?? 10
            return (host, level)
        } catch let error as ServiceSettings.Invalid {
            throw ValidationError(error.description)
        }
    }

    private func authority(_ settings: ServiceSettings) throws -> AuthorityEnrollment? {
        guard let url = settings.value(ca, "WEFT_CA") else {
            for (flag, variable, value) in [
                ("--ca-bundle", "WEFT_CA_BUNDLE", caBundle), ("--ca-fingerprint", "WEFT_CA_FINGERPRINT", caFingerprint),
                ("--join-token-file", "WEFT_JOIN_TOKEN_FILE", joinTokenFile),
                ("--data-dir", "WEFT_DATA_DIR", dataDir),
            ] where settings.value(value, variable) != nil {
                throw ValidationError("\(flag) needs --ca (or WEFT_CA)")
            }
            return nil
        }
        let endpoint: ControlPlaneClient.Endpoint
        do {
            endpoint = try ControlPlaneClient.Endpoint(url: url)
        } catch {
            throw ValidationError("--ca: \(error)")
        }
        guard endpoint.usesTLS else { throw ValidationError("--ca: weft-ca serves https only, got \(url.prefix(80))") }
        let anchors: AuthorityEnrollment.Anchors
        switch (settings.value(caBundle, "WEFT_CA_BUNDLE"), settings.value(caFingerprint, "WEFT_CA_FINGERPRINT")) {
        case (let bundle?, nil):
            anchors = .bundleFile(bundle)
        case (nil, let text?):
            var hex = text.lowercased()
            if hex.hasPrefix("sha256:") { hex.removeFirst("sha256:".count) }
            else if hex.hasPrefix("sha256 fingerprint=") { hex.removeFirst("sha256 fingerprint=".count) }
            hex.removeAll { $0 == ":" }
            guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
                throw ValidationError("--ca-fingerprint: expected sha256: and 64 hex digits, got \(text.prefix(100))")
            }
            anchors = .fingerprint(hex)
        case (.some, .some):
            throw ValidationError("--ca-bundle and --ca-fingerprint are exclusive: give one way to trust the CA")
        case (nil, nil):
            throw ValidationError("--ca needs --ca-bundle or --ca-fingerprint (or WEFT_CA_BUNDLE, WEFT_CA_FINGERPRINT)")
        }
        var enrollment = AuthorityEnrollment(
            authority: endpoint,
            anchors: anchors,
            joinTokenFile: settings.value(joinTokenFile, "WEFT_JOIN_TOKEN_FILE"),
            dataDirectory: try settings.required(dataDir, "WEFT_DATA_DIR", "--data-dir"))
        enrollment.renewAt = Double(try settings.integer(renewAt, "WEFT_RENEW_AT", "--renew-at", 1...90) ?? 50) / 100
        enrollment.bundleRefresh = .seconds(
            Int64(try settings.integer(bundleRefresh, "WEFT_BUNDLE_REFRESH", "--bundle-refresh", 1...3600) ?? 30))
        return enrollment
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
