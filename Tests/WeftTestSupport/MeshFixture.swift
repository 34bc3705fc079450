import Foundation
public import WeftTLS

/// A small mesh of real processes for tests: a CA made with WeftTLS, workload
/// certificates written as PEM files, snapshot files, weft-echo as the
/// application and weft-sidecar processes in front of it and beside the client.
public final class MeshFixture: @unchecked Sendable {
    public static let sidecarBinary = ChildProcess.builtProduct("weft-sidecar")
    public static let echoBinary = ChildProcess.builtProduct("weft-echo")
    public static let gatewayBinary = ChildProcess.builtProduct("weft-gateway")
    public static let trustDomain = "weft.local"

    public let scratch: Scratch
    public let root: CertificateIssuer
    public let bundle: String
    private var processes: [ChildProcess] = []

    public init() throws {
        scratch = try Scratch()
        let now = Int64(Date().timeIntervalSince1970)
        root = try CertificateIssuer.selfSignedRoot(
            key: try PrivateKey.generateP256(), commonName: "Weft test root", notBefore: now - 60,
            notAfter: now + 86_400, pathLength: 0)
        bundle = try scratch.write("bundle.pem", try root.certificate.pemString())
    }

    public static func identity(_ service: String, namespace: String = "default", trustDomain: String = trustDomain)
        -> String
    {
        "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(service)"
    }

    /// Writes a certificate and key for `identity`, signed by `issuer` (this
    /// mesh's root by default); returns their paths.
    public func credentials(
        for identity: String, issuer: CertificateIssuer? = nil, name: String? = nil, lifetime: Int64 = 86_400
    ) throws -> (certificate: String, key: String) {
        let now = Int64(Date().timeIntervalSince1970)
        let key = try PrivateKey.generateP256()
        let leaf = try (issuer ?? root).issueLeaf(
            for: key, uri: identity, notBefore: now - 60, notAfter: now + lifetime)
        let base = name ?? String(identity.split(separator: "/").last!)
        return (
            try scratch.write("\(base).pem", try leaf.pemString()),
            try scratch.write("\(base).key", try key.pkcs8PEM())
        )
    }

    /// A discovery snapshot file.
    public func snapshot(
        _ name: String, version: Int = 1, upstreams: [(service: String, protocol: String, ports: [Int])] = [],
        intentions: [(source: String, destination: String, action: String)] = [], defaultAction: String = "deny"
    ) throws -> String {
        let upstreamJSON = upstreams.map { upstream in
            let endpoints = upstream.ports.enumerated().map { index, port in
                #"{"instance": "\#(upstream.service)-\#(index)", "address": "127.0.0.1", "port": \#(port)}"#
            }.joined(separator: ", ")
            return
                #"{"service": {"service": "\#(upstream.service)"}, "protocol": "\#(upstream.protocol)", "endpoints": [\#(endpoints)]}"#
        }.joined(separator: ", ")
        let intentionJSON = intentions.map {
            #"{"source": "\#($0.source)", "destination": "\#($0.destination)", "action": "\#($0.action)"}"#
        }.joined(separator: ", ")
        let text = """
            {"version": \(version), "generated_at": "2026-11-27T00:00:00Z",
             "defaults": {"default_action": "\(defaultAction)", "trust_domain": "\(Self.trustDomain)"},
             "upstreams": [\(upstreamJSON)], "inbound_intentions": [\(intentionJSON)]}
            """
        return try scratch.write(name, text)
    }

    /// Starts weft-echo (h2c and HTTP/1.1) on a port the kernel picks, and
    /// returns the port it reports. Every process of the mesh binds port 0 and
    /// says where it listens: a port picked free beforehand can be taken by a
    /// parallel test before the process binds it.
    public func startEcho(name: String? = nil, port: Int = 0, extra: [String] = []) throws -> Int {
        let echo = try ChildProcess(
            Self.echoBinary,
            ["--listen", "127.0.0.1:\(port)", "--threads", "1"] + (name.map { ["--name", $0] } ?? []) + extra)
        processes.append(echo)
        guard echo.waitForOutput("listening"), let port = Self.port(in: echo.output, after: "listening on 127.0.0.1:")
        else { throw Command.Failure(description: echo.output) }
        return port
    }

    /// The number that follows `prefix` (and anything up to the next `:` that is
    /// followed by digits) in `text`.
    public static func port(in text: String, after prefix: String) -> Int? {
        guard let start = text.range(of: prefix)?.upperBound else { return nil }
        let digits = text[start...].prefix { $0.isNumber }
        return Int(digits)
    }

    /// A listener's port in the sidecar's ready line, where it appears as
    /// `<label> [IPv4]127.0.0.1/127.0.0.1:<port>`.
    public static func listenerPort(in line: Substring, label: String) -> Int? {
        guard let start = line.range(of: label + " ")?.upperBound else { return nil }
        let field = line[start...].prefix { $0 != "," }
        guard let colon = field.lastIndex(of: ":") else { return nil }
        return Int(field[field.index(after: colon)...].prefix { $0.isNumber })
    }

    /// Starts a test peer (a Python script given `port` 0 in its arguments) and
    /// returns the port it reports in its `listening <port>` line.
    public func startPeer(_ executable: String, _ arguments: [String]) throws -> Int {
        let process = try start(executable, arguments, ready: "listening")
        guard let port = Self.port(in: process.output, after: "listening ") else {
            throw Command.Failure(description: "\(arguments.first ?? executable) reported no port: \(process.output)")
        }
        return port
    }

    /// Starts any other process the mesh needs (an application, a client), stopped
    /// with the mesh; waits for `ready` in its output.
    public func start(_ executable: String, _ arguments: [String], ready: String) throws -> ChildProcess {
        let process = try ChildProcess(executable, arguments)
        processes.append(process)
        guard process.waitForOutput(ready) else {
            throw Command.Failure(description: "\(executable) did not start: \(process.output)")
        }
        return process
    }

    public struct Sidecar: Sendable {
        public let process: ChildProcess
        public let inbound: Int
        public let proxy: Int
        public let admin: Int
        public let upstreams: [String: Int]
    }

    /// Starts weft-sidecar for `service` with its own certificate.
    public func startSidecar(
        _ service: String, app: Int, appProtocol: String = "http", snapshot: String, upstreams: [String] = [],
        credentials: (certificate: String, key: String)? = nil, identity: [String]? = nil, extra: [String] = [],
        inbound: Int = 0
    ) throws -> Sidecar {
        var arguments = [
            "--service", service, "--inbound", "127.0.0.1:\(inbound)", "--app", "127.0.0.1:\(app)",
            "--app-protocol", appProtocol, "--outbound-proxy", "127.0.0.1:0", "--admin", "127.0.0.1:0",
            "--snapshot-file", snapshot, "--drain-timeout", "5",
        ]
        // The certificate from files this fixture writes, unless `identity` gives
        // other flags (weft-ca's).
        if let identity {
            arguments += identity
        } else {
            let material = try credentials ?? self.credentials(for: Self.identity(service))
            arguments += ["--certificate", material.certificate, "--key", material.key, "--trust-bundle", bundle]
        }
        for upstream in upstreams { arguments += ["--upstream", "\(upstream)=127.0.0.1:0"] }
        let process = try ChildProcess(Self.sidecarBinary, arguments + extra)
        processes.append(process)
        // Every port is bound at 0; the ready line says which each one got.
        guard process.waitForOutput(" ready (snapshot"),
            let line = process.output.split(separator: "\n").first(where: { $0.contains(" ready (snapshot") }),
            let inbound = Self.port(in: String(line), after: "inbound 127.0.0.1:"),
            let proxy = Self.listenerPort(in: line, label: "outbound proxy"),
            let admin = Self.port(in: String(line), after: "admin port ")
        else {
            throw Command.Failure(description: "weft-sidecar did not start: \(process.output)")
        }
        var ports: [String: Int] = [:]
        for upstream in upstreams {
            guard let port = Self.listenerPort(in: line, label: "upstream \(upstream)") else {
                throw Command.Failure(description: "no port for upstream \(upstream) in: \(line)")
            }
            ports[upstream] = port
        }
        return Sidecar(process: process, inbound: inbound, proxy: proxy, admin: admin, upstreams: ports)
    }

    /// The usual pair: `backend`'s sidecar in front of `app`, allowing `frontend`,
    /// whose sidecar has a local port for `backend`.
    /// `frontendExtra` and `backendExtra` are more flags for either sidecar.
    public func startPair(
        app: Int, appProtocol: String = "http",
        intentions: [(source: String, destination: String, action: String)]? = nil,
        frontendExtra: [String] = [], backendExtra: [String] = []
    ) throws -> (frontend: Sidecar, backend: Sidecar) {
        let backendSnapshot = try snapshot(
            "backend.json", intentions: intentions ?? [(Self.identity("frontend"), "backend", "allow")])
        let backend = try startSidecar(
            "backend", app: app, appProtocol: appProtocol, snapshot: backendSnapshot, extra: backendExtra)
        let frontendSnapshot = try snapshot("frontend.json", upstreams: [("backend", appProtocol, [backend.inbound])])
        let frontend = try startSidecar(
            "frontend", app: 1, snapshot: frontendSnapshot, upstreams: ["backend"], extra: frontendExtra)
        return (frontend, backend)
    }

    public struct Gateway: Sendable {
        public let process: ChildProcess
        public let http: Int
        public let admin: Int
        /// The TLS listener's port, when it has one.
        public let https: Int?
    }

    /// Starts weft-gateway named `name` with its own certificate.
    public func startGateway(
        _ name: String = "edge", snapshot: String, credentials: (certificate: String, key: String)? = nil,
        extra: [String] = []
    ) throws -> Gateway {
        let material = try credentials ?? self.credentials(for: Self.identity(name))
        let arguments = [
            "--name", name, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
            "--certificate", material.certificate, "--key", material.key, "--trust-bundle", bundle,
            "--snapshot-file", snapshot, "--drain-timeout", "5",
        ]
        let process = try ChildProcess(Self.gatewayBinary, arguments + extra)
        processes.append(process)
        guard process.waitForOutput(" ready (snapshot"),
            let line = process.output.split(separator: "\n").first(where: { $0.contains(" ready (snapshot") }),
            let http = Self.listenerPort(in: line, label: "http"),
            let admin = Self.port(in: String(line), after: "admin port ")
        else {
            throw Command.Failure(description: "weft-gateway did not start: \(process.output)")
        }
        return Gateway(
            process: process, http: http, admin: admin, https: Self.listenerPort(in: line, label: "https"))
    }

    /// One payments instance (weft-echo behind its sidecar, which lets the
    /// gateway `edge` in) and the gateway snapshot that reaches it through
    /// `routes` (JSON rules; by default one that takes everything).
    public func paymentsBehindGateway(
        routes: String = #"{"name": "all", "destinations": [{"service": "payments"}]}"#
    ) throws -> String {
        let allow = try snapshot("payments.json", intentions: [(Self.identity("edge"), "payments", "allow")])
        let echo = try startEcho(name: "payments")
        let payments = try startSidecar("payments", app: echo, snapshot: allow)
        return try scratch.write(
            "gateway.json",
            """
            {"version": 1, "generated_at": "2026-11-28T00:00:00Z",
             "defaults": {"default_action": "deny", "trust_domain": "\(Self.trustDomain)"},
             "upstreams": [{"service": {"service": "payments"}, "protocol": "http",
               "endpoints": [{"instance": "p-0", "address": "127.0.0.1", "port": \(payments.inbound)}]}],
             "gateway_routes": {"routes": [\(routes)]}}
            """)
    }

    public func stop() {
        for process in processes.reversed() { process.stop() }
        processes.removeAll()
        scratch.cleanup()
    }

    deinit { stop() }
}

extension MeshFixture {
    public static let registryBinary = ChildProcess.builtProduct("weft-registry")
    public static let adminToken = "weft-admin-token-for-mesh-tests-0123456789"

    /// A weft-registry process of the mesh, and its admin API.
    public struct Registry {
        public let process: ChildProcess
        public let port: Int
        /// A file holding the admin token, for `--registry-token-file`.
        public let adminTokenFile: String
        /// The mesh listener (mutual TLS), when started with `--mesh-listen`.
        public var meshPort: Int?

        /// The usual pair's configuration: services `backend` and `frontend`,
        /// and an intention letting the frontend call the backend. False when
        /// the registry refused any of it.
        @discardableResult
        public func configurePair() throws -> Bool {
            var done = true
            for service in ["backend", "frontend"] {
                done = try call("POST", "/v1/services", #"{"name":"\#(service)"}"#).0 == 201 && done
            }
            let intention =
                #"{"source":"\#(MeshFixture.identity("frontend"))","destination":"backend","action":"allow"}"#
            return try call("POST", "/v1/intentions", intention).0 == 201 && done
        }

        /// A new credential for `service`, written to a file in `mesh`'s scratch.
        public func credentialFile(_ service: String, in mesh: MeshFixture) throws -> String {
            let (status, body) = try call("POST", "/v1/services/default/\(service)/credentials")
            guard status == 201, let secret = body.firstMatch(of: /"secret":"(wsc_[A-Za-z0-9_-]+)"/)?.1 else {
                throw Command.Failure(description: "no credential for \(service) (\(status)): \(body)")
            }
            return try mesh.scratch.write("\(service)-\(UUID().uuidString.prefix(8)).token", "\(secret)\n")
        }

        /// An admin API call; returns the status and the body.
        public func call(_ method: String, _ path: String, _ body: String? = nil) throws -> (Int, String) {
            var arguments = [
                "-X", method, "-H", "authorization: Bearer \(MeshFixture.adminToken)", "-w", "\n%{http_code}",
            ]
            if let body { arguments += ["-H", "content-type: application/json", "--data-binary", body] }
            let result = try Command.curl(arguments + ["http://127.0.0.1:\(port)\(path)"])
            let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
        }
    }

    /// Starts weft-registry on `postgres`, on a port the kernel picks.
    public func startRegistry(_ postgres: TemporaryPostgres, extra: [String] = []) throws -> Registry {
        let tokenFile = try scratch.write("admin-token", Self.adminToken + "\n")
        let process = try start(
            Self.registryBinary,
            ["--database-url", postgres.url, "--admin-token-file", tokenFile, "--listen", "127.0.0.1:0"] + extra,
            ready: "listening")
        // The plain listener's line (the mesh listener logs "listening (mutual TLS)").
        func plainPort() -> Int? {
            process.output.split(separator: "\n").first { $0.hasSuffix("] listening") }
                .flatMap { $0.firstMatch(of: /address=127\.0\.0\.1:(\d+)/) }.flatMap { Int($0.1) }
        }
        Command.eventually { plainPort() != nil }
        guard let port = plainPort() else {
            throw Command.Failure(description: "no registry port in: \(process.output)")
        }
        var meshPort: Int?
        if extra.contains("--mesh-listen") {
            Command.eventually { process.output.contains("listening (mutual TLS)") }
            let line = process.output.split(separator: "\n").first { $0.contains("listening (mutual TLS)") } ?? ""
            meshPort = line.firstMatch(of: /address=[0-9.]+:(\d+)/).flatMap { Int($0.1) }
        }
        return Registry(process: process, port: port, adminTokenFile: tokenFile, meshPort: meshPort)
    }
}

extension MeshFixture {
    public static let caBinary = ChildProcess.builtProduct("weft-ca")

    /// A weft-ca process of the mesh, and its admin API.
    public struct Authority: Sendable {
        public let process: ChildProcess
        public let port: Int
        /// The CA's roots, for `--ca-bundle` and `curl --cacert`.
        public let bundleFile: String
        public var url: String { "https://127.0.0.1:\(port)" }

        /// An admin API call over TLS; returns the status and the body.
        public func call(_ method: String, _ path: String, _ body: String? = nil) throws -> (Int, String) {
            var arguments = [
                "--cacert", bundleFile, "-X", method, "-H", "authorization: Bearer \(MeshFixture.adminToken)", "-w",
                "\n%{http_code}",
            ]
            if let body { arguments += ["-H", "content-type: application/json", "--data-binary", body] }
            let result = try Command.curl(arguments + ["\(url)\(path)"])
            let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
        }

        /// A join token's secret for `identity`.
        public func joinToken(for identity: String, uses: Int = 1) throws -> String {
            let (status, body) = try call(
                "POST", "/v1/join-tokens", #"{"identity": "\#(identity)", "max_uses": \#(uses)}"#)
            guard status == 201, let secret = body.firstMatch(of: /"secret":"(wjt_[A-Za-z0-9_-]+)"/)?.1 else {
                throw Command.Failure(description: "no join token (\(status)): \(body)")
            }
            return String(secret)
        }
    }

    /// Starts weft-ca on `postgres` (sharing the registry's database is fine:
    /// their tables are apart), its data directory in this fixture's scratch.
    public func startAuthority(
        _ postgres: TemporaryPostgres, name: String = "ca", lifetime: String = "5m", extra: [String] = []
    ) throws -> Authority {
        let tokenFile = try scratch.write("ca-admin-token", Self.adminToken + "\n")
        let directory = scratch.file(name)
        let process = try start(
            Self.caBinary,
            [
                "--database-url", postgres.url, "--admin-token-file", tokenFile, "--listen", "127.0.0.1:0",
                "--data-dir", directory, "--certificate-lifetime", lifetime,
            ] + extra,
            ready: "listening (TLS)")
        Command.eventually { process.output.firstMatch(of: /address=127\.0\.0\.1:(\d+)/) != nil }
        guard let match = process.output.firstMatch(of: /address=127\.0\.0\.1:(\d+)/), let port = Int(match.1) else {
            throw Command.Failure(description: "no CA port in: \(process.output)")
        }
        return Authority(process: process, port: port, bundleFile: directory + "/trust-bundle.pem")
    }
}
