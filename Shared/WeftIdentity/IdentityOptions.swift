public import ArgumentParser
public import WeftService

/// The flags that make a process get its mesh identity from weft-ca (a proxy,
/// or the registry's mesh listener): declared once, read alike everywhere.
public struct IdentityOptions: ParsableArguments {
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

    public init() {}

    /// The enrollment `--ca` asks for, or nil without it; a usage error (exit 64)
    /// names the flag at fault.
    public func enrollment(_ settings: ServiceSettings) throws -> AuthorityEnrollment? {
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
            if hex.hasPrefix("sha256:") {
                hex.removeFirst("sha256:".count)
            } else if hex.hasPrefix("sha256 fingerprint=") {
                hex.removeFirst("sha256 fingerprint=".count)
            }
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
            dataDirectory: try dataDirectory(settings))
        enrollment.renewAt = Double(try settings.integer(renewAt, "WEFT_RENEW_AT", "--renew-at", 1...90) ?? 50) / 100
        enrollment.bundleRefresh = .seconds(
            Int64(try settings.integer(bundleRefresh, "WEFT_BUNDLE_REFRESH", "--bundle-refresh", 1...3600) ?? 30))
        return enrollment
    }

    private func dataDirectory(_ settings: ServiceSettings) throws -> String {
        guard let value = settings.value(dataDir, "WEFT_DATA_DIR") else {
            throw ValidationError("--data-dir is required (or WEFT_DATA_DIR)")
        }
        return value
    }

    /// The enrollment's integer settings throw ServiceSettings.Invalid; as a
    /// usage error they name their flag the same way.
    public func enrollmentOrUsageError(_ settings: ServiceSettings) throws -> AuthorityEnrollment? {
        do {
            return try enrollment(settings)
        } catch let error as ServiceSettings.Invalid {
            throw ValidationError(error.description)
        }
    }
}
