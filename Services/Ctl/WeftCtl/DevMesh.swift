import Foundation
import WeftService
import WeftTLS

#if canImport(Glibc)
    import Glibc
#endif

/// `weftctl dev up`: a whole mesh on this machine from the built binaries —
/// PostgreSQL, weft-registry, weft-ca, the point-of-sale demo (`payments` in
/// three versions and `catalog`, each a weft-echo behind its weft-sidecar,
/// joined with join tokens and registered by their sidecars) and weft-gateway
/// routing by terminal type and firmware version, with default-deny intentions
/// and explicit allows.
///
/// Everything lives under the state directory: logs, the CA's keys, each
/// proxy's data directory, the PostgreSQL cluster (as root: beside it, in
/// /var/tmp). Running it again reuses that state.
public final class DevMesh: @unchecked Sendable {
    // @unchecked: built by `up` on one thread, then only read, and `down` runs once.
    public struct Options: Sendable {
        public var stateDirectory: String
        /// Where weft-registry, weft-ca, weft-sidecar, weft-gateway and weft-echo are.
        public var binaries: String
        /// An existing PostgreSQL instead of one of its own.
        public var databaseURL: String?
        /// 0: any free port.
        public var registryPort = 8500
        public var caPort = 8600
        public var gatewayPort = 8080

        public init(stateDirectory: String, binaries: String) {
            self.stateDirectory = stateDirectory
            self.binaries = binaries
        }
    }

    public static let trustDomain = Demo.trustDomain
    public let options: Options
    private var processes: [LaunchedProcess] = []
    private var postgres: LocalPostgres?
    public private(set) var registryPort = 0
    public private(set) var registryMeshPort = 0
    public private(set) var caPort = 0
    public private(set) var gatewayPort = 0
    public private(set) var gatewayAdminPort = 0
    public private(set) var paymentsCatalogPort = 0
    private let say: @Sendable (String) -> Void

    private init(options: Options, say: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.say = say
    }

    private var state: String { options.stateDirectory }
    private var logs: String { state + "/logs" }
    private var pidFile: String { state + "/pids" }
    var adminTokenFile: String { state + "/admin-token" }
    var bundleFile: String { state + "/ca/trust-bundle.pem" }

    /// Brings the mesh up; on failure, stops what it started and throws.
    public static func up(_ options: Options, say: @escaping @Sendable (String) -> Void) throws -> DevMesh {
        let mesh = DevMesh(options: options, say: say)
        do {
            try mesh.start()
            return mesh
        } catch {
            mesh.down()
            throw error
        }
    }

    // MARK: Up

    private func start() throws {
        let started = Date()
        for directory in [state, logs, state + "/proxies", state + "/tokens"] {
            do {
                try DurableDirectory.ensure(directory)
            } catch {
                throw DevMeshError("cannot use the state directory: \(error)")
            }
        }
        if let running = Self.runningProcesses(in: state), !running.isEmpty {
            throw DevMeshError(
                "a dev mesh already runs from \(state) (\(running.map(\.name).joined(separator: ", "))); stop it with `weftctl dev down`"
            )
        }
        try? FileManager.default.removeItem(atPath: pidFile)
        registryPort = try port(options.registryPort, "--registry-port")
        caPort = try port(options.caPort, "--ca-port")
        gatewayPort = try port(options.gatewayPort, "--gateway-port")

        // 1. The database.
        let databaseURL: String
        if let given = options.databaseURL {
            databaseURL = given
        } else {
            let local = try LocalPostgres(stateDirectory: state, port: try freeLoopbackPort())
            // A cluster kept outside the state directory (as root) belongs to it: a
            // new state directory starts a new cluster, or the CA would find a
            // database that recorded another authority.
            if local.runAs != nil && !FileManager.default.fileExists(atPath: state + "/postgres-data") {
                try? FileManager.default.removeItem(atPath: (local.dataDirectory as NSString).deletingLastPathComponent)
            }
            say("starting PostgreSQL (\(local.dataDirectory))")
            try local.start()
            postgres = local
            try? local.dataDirectory.write(toFile: state + "/postgres-data", atomically: true, encoding: .utf8)
            databaseURL = local.url
        }

        // 2. The control plane: the CA first, since the registry's mesh listener
        //    (where workloads are known by their certificates) needs a
        //    certificate from it too.
        let token = try adminToken()
        say("starting weft-ca on 127.0.0.1:\(caPort)")
        try launch(
            "weft-ca",
            [
                "--database-url", databaseURL, "--listen", "127.0.0.1:\(caPort)", "--admin-token-file", adminTokenFile,
                "--data-dir", state + "/ca", "--trust-domain", Self.trustDomain,
            ], ready: "listening (TLS)")
        let authority = try AdminClient.authority(
            port: caPort, bundleFile: bundleFile, trustDomain: Self.trustDomain, token: token)
        registryMeshPort = try freeLoopbackPort()
        say(
            "starting weft-registry on 127.0.0.1:\(registryPort) (admin) and 127.0.0.1:\(registryMeshPort) (mutual TLS)"
        )
        try launch(
            "weft-registry",
            [
                "--database-url", databaseURL, "--listen", "127.0.0.1:\(registryPort)", "--admin-token-file",
                adminTokenFile, "--mesh-listen", "127.0.0.1:\(registryMeshPort)", "--trust-domain", Self.trustDomain,
            ] + (try joining("registry", identity: Demo.registryIdentity, authority: authority)),
            // Both listeners: they start in either order, and the demo is
            // applied through the admin one.
            ready: "listening (mutual TLS)", "address=127.0.0.1:\(registryPort)")
        let registry = try AdminClient.registry(port: registryPort, token: token)

        // 3. The demo's configuration: services, intentions (the mesh denies by
        //    default; these allow), the gateway's route table.
        say("applying the demo: services, intentions, the edge gateway's routes")
        let demo = Demo(registry: registry, authority: authority)
        try demo.applyConfiguration()

        // 4. The workloads: an echo application and its sidecar each, joined with
        //    a token of its own, registering itself over mutual TLS: the
        //    certificate is all a sidecar needs.
        try workload("catalog", service: "catalog", version: "v1", authority: authority, upstreams: [])
        paymentsCatalogPort = try freeLoopbackPort()
        for version in ["v1", "v2", "v3"] {
            try workload(
                "payments-\(version)", service: "payments", version: version, authority: authority,
                upstreams: version == "v1" ? ["catalog=127.0.0.1:\(paymentsCatalogPort)"] : [])
        }

        // 5. The gateway.
        say("starting weft-gateway on 127.0.0.1:\(gatewayPort)")
        gatewayAdminPort = try freeLoopbackPort()
        try launch(
            "weft-gateway",
            [
                "--name", "edge", "--listen", "127.0.0.1:\(gatewayPort)", "--admin", "127.0.0.1:\(gatewayAdminPort)",
                "--registry", "https://127.0.0.1:\(registryMeshPort)",
                "--snapshot-file", state + "/proxies/edge-snapshot.json",
            ] + (try joining("edge", identity: Self.identity("edge"), authority: authority)),
            ready: " ready (snapshot", name: "edge")

        // 6. Up when a request crosses the whole mesh; the admin commands find it
        //    through the context file.
        try waitForTraffic()
        let context: [String: Any] = [
            "registry": "http://127.0.0.1:\(registryPort)", "ca": "https://127.0.0.1:\(caPort)",
            "admin_token_file": adminTokenFile, "ca_bundle": bundleFile,
            "gateway_admin": "http://127.0.0.1:\(gatewayAdminPort)",
        ]
        try? JSONSerialization.data(withJSONObject: context, options: [.sortedKeys]).write(
            to: URL(fileURLWithPath: state + "/context.json"))
        say(String(format: "the mesh is up in %.1fs", Date().timeIntervalSince(started)))
    }

    private func port(_ wanted: Int, _ flag: String) throws -> Int {
        if wanted == 0 { return try freeLoopbackPort() }
        guard !portInUse(wanted) else {
            throw DevMeshError("port \(wanted) is in use; free it or pass \(flag) (0 picks a free one)")
        }
        return wanted
    }

    private func adminToken() throws -> String {
        if let text = try? String(contentsOfFile: adminTokenFile, encoding: .utf8) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let token = try SecretDigest.newSecret(prefix: "wat_")
        do {
            try DurableDirectory.createPrivate(adminTokenFile, token + "\n")
        } catch {
            throw DevMeshError("cannot write \(adminTokenFile): \(error)")
        }
        return token
    }

    /// The flags that make a proxy join through the CA; a new join token only
    /// when its data directory does not hold a certificate already.
    private func joining(_ name: String, identity: String, authority: AdminClient) throws -> [String] {
        let data = state + "/proxies/\(name)"
        var flags = ["--ca", "https://127.0.0.1:\(caPort)", "--ca-bundle", bundleFile, "--data-dir", data]
        if !FileManager.default.fileExists(atPath: data + "/chain.pem") {
            let file = state + "/tokens/\(name).join"
            try Demo(registry: authority, authority: authority).writeJoinToken(for: identity, to: file)
            flags += ["--join-token-file", file]
        }
        return flags
    }

    private func workload(
        _ name: String, service: String, version: String, authority: AdminClient, upstreams: [String]
    ) throws {
        let application = try freeLoopbackPort()
        say("starting \(name): weft-echo and its weft-sidecar")
        try launch(
            "weft-echo", ["--listen", "127.0.0.1:\(application)", "--threads", "1", "--name", name], ready: "listening",
            name: "\(name)-app")
        let inbound = try freeLoopbackPort()
        let admin = try freeLoopbackPort()
        var arguments = [
            "--service", service, "--app", "127.0.0.1:\(application)", "--inbound", "127.0.0.1:\(inbound)",
            "--admin", "127.0.0.1:\(admin)", "--outbound-proxy", "off", "--registry",
            "https://127.0.0.1:\(registryMeshPort)", "--register", "--instance-id",
            name, "--label", "version=\(version)", "--ttl", "10", "--health-interval", "2",
            // dev down stops the gateway first: no caller is left to wait for.
            "--drain-delay", "0", "--snapshot-file",
            state + "/proxies/\(name)-snapshot.json",
        ]
        for upstream in upstreams { arguments += ["--upstream", upstream] }
        arguments += try joining(name, identity: Self.identity(service), authority: authority)
        try launch("weft-sidecar", arguments, ready: " ready (snapshot", name: "\(name)-sidecar")
    }

    /// Starts `binary` and waits until its log holds every line in `ready`.
    private func launch(_ binary: String, _ arguments: [String], ready: String..., name: String? = nil) throws {
        let name = name ?? binary
        let executable = options.binaries + "/" + binary
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw DevMeshError("\(executable) is missing; build first: swift build -c release")
        }
        let process = try LaunchedProcess(
            name: name, executable: executable, arguments: arguments, log: logs + "/\(name).log")
        processes.append(process)
        let line = "\(name) \(process.pid)\n"
        if let handle = FileHandle(forWritingAtPath: pidFile) {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            try? handle.close()
        } else {
            try? line.write(toFile: pidFile, atomically: true, encoding: .utf8)
        }
        for line in ready { try process.waitForLog(line) }
    }

    /// Until a request through the gateway reaches payments v1 (its instance
    /// registered, discovery delivered to the gateway).
    private func waitForTraffic() throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let reply = try? gatewayRequest(path: "/v1/pay", headers: [("x-firmware-version", "1.4.2")]),
                reply.status == 200
            {
                return
            }
            usleep(200_000)
        }
        throw DevMeshError(
            "the gateway did not route to payments within 30s; see the logs in \(logs) (edge.log, payments-v1-sidecar.log)"
        )
    }

    func gatewayRequest(path: String, headers: [(String, String)]) throws -> AdminClient.Reply {
        let client = try AdminClient.registry(port: gatewayPort, token: "")
        return try client.call(.GET, path, nil, headers: headers)
    }

    // MARK: Down

    /// Stops everything, the gateway first and PostgreSQL last.
    public func down() {
        // Only what this weftctl started: a start refused because another mesh
        // runs from the same state must leave that mesh's pid file alone.
        guard !processes.isEmpty || postgres != nil else { return }
        for process in processes.reversed() {
            process.stop()
        }
        processes.removeAll()
        postgres?.stop()
        postgres = nil
        try? FileManager.default.removeItem(atPath: pidFile)
    }

    /// `weftctl dev down` from another process: SIGTERM to every process the
    /// pid file lists that still runs, SIGKILL after 10 s, then PostgreSQL.
    /// Returns the names it stopped.
    public static func down(stateDirectory: String) -> [String] {
        let running = runningProcesses(in: stateDirectory) ?? []
        for process in running.reversed() { kill(process.pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && running.contains(where: { isRunning($0.pid) }) { usleep(50_000) }
        for process in running where isRunning(process.pid) { kill(process.pid, SIGKILL) }
        if let data = try? String(contentsOfFile: stateDirectory + "/postgres-data", encoding: .utf8),
            let binaries = try? LocalPostgres.findBinaries(),
            FileManager.default.fileExists(atPath: data + "/postmaster.pid")
        {
            let runAs = geteuid() == 0 ? "postgres" : nil
            let tool = binaries + "/pg_ctl"
            _ = try? runToEnd(
                runAs == nil ? tool : "/usr/sbin/runuser",
                (runAs.map { ["-u", $0, "--", tool] } ?? []) + ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"],
                log: stateDirectory + "/logs/pg_ctl-down.log")
        }
        try? FileManager.default.removeItem(atPath: stateDirectory + "/pids")
        return running.map(\.name)
    }

    /// The processes the pid file lists that are still alive and are Weft's.
    static func runningProcesses(in stateDirectory: String) -> [(name: String, pid: Int32)]? {
        guard let text = try? String(contentsOfFile: stateDirectory + "/pids", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let pid = Int32(parts[1]), isRunning(pid) else { return nil }
            // A recycled pid belongs to something else: only a weft binary counts.
            let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            guard command.contains("weft-") else { return nil }
            return (String(parts[0]), pid)
        }
    }

    /// What `dev up` recorded for the admin commands, if a mesh was started here.
    static func savedContext(stateDirectory: String) -> (registry: String, adminTokenFile: String)? {
        guard let data = FileManager.default.contents(atPath: stateDirectory + "/context.json"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let registry = object["registry"] as? String, let token = object["admin_token_file"] as? String
        else { return nil }
        return (registry, token)
    }

    /// Alive and not a zombie (an orphan whose reaper has not reaped it yet).
    static func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
    }

    // MARK: The demo

    static func identity(_ service: String) -> String { Demo.identity(service) }

    /// `weftctl dev bootstrap` (see `Demo.bootstrap`).
    public static func bootstrap(
        stage: String, registryURL: String?, authorityURL: String?, bundleFile: String?, adminToken: String,
        directory: String
    ) throws -> [String] {
        guard let stage = Demo.Stage(rawValue: stage) else {
            throw DevMeshError("--stage: expected authority, registry or all")
        }
        return try Demo.bootstrap(
            stage: stage, registryURL: registryURL, authorityURL: authorityURL, bundleFile: bundleFile,
            adminToken: adminToken, directory: directory)
    }

    /// What runs where, and what to try.
    public var summary: String {
        let gateway = "http://127.0.0.1:\(gatewayPort)"
        return """

            Weft dev mesh (state in \(state))
              PostgreSQL     \(options.databaseURL ?? postgres?.url ?? "")
              weft-registry  http://127.0.0.1:\(registryPort)   admin token in \(adminTokenFile)
                             https://127.0.0.1:\(registryMeshPort)  mutual TLS: sidecars and the gateway, by certificate
              weft-ca        https://127.0.0.1:\(caPort)  trust bundle \(bundleFile)
              weft-gateway   \(gateway)   admin http://127.0.0.1:\(gatewayAdminPort)
              payments v1, v2, v3 and catalog, each weft-echo behind weft-sidecar; logs in \(logs)

            Try:
              curl -i -H 'x-firmware-version: 1.4.2' \(gateway)/v1/pay                       # → payments-v1
              curl -i -H 'x-firmware-version: 2.3.0' -H 'x-terminal-id: T-1001' \(gateway)/v1/pay   # → v2, or v3 for a sticky tenth
              curl -i -H 'x-terminal-type: kiosk' \(gateway)/v1/pay                        # → payments-v3, path /api/pay
              curl -i \(gateway)/v1/pay                                                    # → 404 no-route
              curl -s -X POST http://127.0.0.1:\(gatewayAdminPort)/routes/explain -d '{"host": "localhost", "path": "/v1/pay", "headers": {"x-firmware-version": "2.3.0", "x-terminal-id": "T-1001"}}'
              weftctl get instances --state-dir \(state)                      # who registered, and their health
              curl -s -H "Authorization: Bearer $(cat \(adminTokenFile))" http://127.0.0.1:\(registryPort)/v1/instances
              curl -i http://127.0.0.1:\(paymentsCatalogPort)/items                     # payments-v1's sidecar → catalog over mTLS

            Ctrl-C (or `weftctl dev down --state-dir \(state)`) stops everything.
            """
    }
}

/// The state directory's files: directories 0700, secrets 0600 from the start.
enum DurableDirectory {
    static func ensure(_ path: String) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    static func createPrivate(_ path: String, _ contents: String) throws {
        do {
            try DurableFile.create(path, contents, mode: 0o600)
        } catch {
            throw DevMeshError("\(error)")
        }
    }
}
