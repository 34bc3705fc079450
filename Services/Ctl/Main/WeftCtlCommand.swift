public import ArgumentParser
import Dispatch
import Foundation
import WeftCtl

#if canImport(Glibc)
    import Glibc
#endif

/// `weftctl`: the operator's CLI.
@main
struct WeftCtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weftctl",
        abstract: "Operate a Weft service mesh.",
        discussion: """
            Admin commands find the registry through --registry and --admin-token-file, the \
            WEFT_REGISTRY and WEFT_ADMIN_TOKEN_FILE (or WEFT_ADMIN_TOKEN) variables, or, failing \
            those, the dev mesh `weftctl dev up` started (<state-dir>/context.json).

            Exit status: 0 on success, 1 when the registry or the CA refuses or cannot be reached \
            (the message says which and why), 64 for a bad command line.
            """,
        subcommands: [
            Status.self, Get.self, Describe.self, Apply.self, Delete.self, Route.self, Proxy.self, CA.self, Config.self,
            Dev.self,
        ])
}

struct Dev: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A whole mesh on this machine, for trying Weft and developing against it.",
        subcommands: [Up.self, Down.self, Bootstrap.self])
}

/// Runs a command's work; a failure is printed to stderr as `weftctl: <prefix><reason>`
/// and becomes exit status 1, the one way every command reports one.
func reportingFailure(_ prefix: String = "", _ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        FileHandle.standardError.write(Data("weftctl: \(prefix)\(error)\n".utf8))
        throw ExitCode.failure
    }
}

/// The built binaries sit beside weftctl (`.build/release/`, or an install's bin/).
func siblingBinaries() -> String {
    let path =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return (path as NSString).deletingLastPathComponent
}

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Start PostgreSQL, the registry, the CA, the point-of-sale demo and the gateway; stop them on Ctrl-C.",
        discussion: """
            Runs from the binaries beside weftctl. Starts a PostgreSQL of its own (initialized once into the \
            state directory; or --database-url), weft-registry, weft-ca, payments in three versions and catalog \
            (each weft-echo behind weft-sidecar, joined with a join token and registered by its sidecar), and \
            weft-gateway routing by x-terminal-type and x-firmware-version. Prints what runs where and the \
            commands to try; logs go to <state-dir>/logs. Ctrl-C, SIGTERM or `weftctl dev down` stops \
            everything. Running it again reuses the state.

            Exit status: 0 after a clean stop, 1 when the mesh cannot start (the message says why), 64 for a \
            bad flag.
            """)

    @Option(help: ArgumentHelp("Where the mesh keeps its state and logs (default .weft/dev).", valueName: "dir"))
    var stateDir = ".weft/dev"

    @Option(help: ArgumentHelp("Use this PostgreSQL instead of starting one.", valueName: "url"))
    var databaseURL: String?

    @Option(help: ArgumentHelp("The registry's port (0: any free one).", valueName: "port"))
    var registryPort = 8500

    @Option(help: ArgumentHelp("The CA's port (0: any free one).", valueName: "port"))
    var caPort = 8600

    @Option(help: ArgumentHelp("The gateway's port (0: any free one).", valueName: "port"))
    var gatewayPort = 8080

    func validate() throws {
        for (flag, port) in [("--registry-port", registryPort), ("--ca-port", caPort), ("--gateway-port", gatewayPort)]
        where !(0...65535).contains(port) {
            throw ValidationError("\(flag) must be 0 to 65535")
        }
    }

    func run() throws {
        var options = DevMesh.Options(
            stateDirectory: (stateDir as NSString).standardizingPath.hasPrefix("/")
                ? stateDir : FileManager.default.currentDirectoryPath + "/" + stateDir,
            binaries: siblingBinaries())
        options.databaseURL = databaseURL
        options.registryPort = registryPort
        options.caPort = caPort
        options.gatewayPort = gatewayPort
        // Signals are handled from here on: Ctrl-C while starting stops what started.
        let stop = DispatchSemaphore(value: 0)
        let sources = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            return source
        }
        defer { for source in sources { source.cancel() } }
        let mesh: DevMesh
        do {
            mesh = try DevMesh.up(options) { line in
                print("weftctl: \(line)")
                fflush(nil)
            }
        } catch {
            FileHandle.standardError.write(Data("weftctl: the dev mesh did not start: \(error)\n".utf8))
            throw ExitCode.failure
        }
        print(mesh.summary)
        fflush(nil)
        stop.wait()
        print("weftctl: stopping the dev mesh")
        fflush(nil)
        mesh.down()
        print("weftctl: stopped")
    }
}

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a dev mesh started from this state directory (by another weftctl, or left behind).")

    @Option(help: ArgumentHelp("The state directory it runs from (default .weft/dev).", valueName: "dir"))
    var stateDir = ".weft/dev"

    func run() throws {
        let stopped = DevMesh.down(stateDirectory: stateDir)
        print(stopped.isEmpty ? "weftctl: nothing was running" : "weftctl: stopped \(stopped.joined(separator: ", "))")
    }
}

struct Bootstrap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the demo's join tokens and apply its configuration, for a mesh started another way.",
        discussion: """
            What `dev up` does around starting the control plane, for docker compose, in two stages: \
            `--stage authority` (needs only the CA) writes into --out the CA's trust bundle and a \
            single-use join token per proxy and for the registry's mesh listener (<name>.join, 0600); \
            `--stage registry` (needs only the registry) applies services, intentions and the edge \
            gateway's routes. `--stage all` (the default) does both.
            """)

    @Option(help: ArgumentHelp("authority, registry or all (default all).", valueName: "stage"))
    var stage = "all"

    @Option(help: ArgumentHelp("The registry, http://host:port. Env: WEFT_REGISTRY.", valueName: "url"))
    var registry: String?

    @Option(help: ArgumentHelp("The CA, https://host:port. Env: WEFT_CA.", valueName: "url"))
    var ca: String?

    @Option(help: ArgumentHelp("The CA's trust bundle (PEM). Env: WEFT_CA_BUNDLE.", valueName: "file"))
    var caBundle: String?

    @Option(
        help: ArgumentHelp(
            "File holding the admin token. Env: WEFT_ADMIN_TOKEN_FILE, or WEFT_ADMIN_TOKEN.", valueName: "file"))
    var adminTokenFile: String?

    @Option(
        help: ArgumentHelp(
            "Where the authority stage writes the bundle and tokens. Env: WEFT_BOOTSTRAP_OUT.", valueName: "dir"))
    var out: String?

    func validate() throws {
        guard ["authority", "registry", "all"].contains(stage) else {
            throw ValidationError("--stage: expected authority, registry or all")
        }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        func required(_ flag: String?, _ variable: String, _ name: String) throws -> String {
            guard let value = flag ?? environment[variable] else {
                throw ValidationError("\(name) is required (or \(variable))")
            }
            return value
        }
        let registryURL = registry ?? environment["WEFT_REGISTRY"]
        let caURL = ca ?? environment["WEFT_CA"]
        let bundle = caBundle ?? environment["WEFT_CA_BUNDLE"]
        if stage != "registry" {
            _ = try required(ca, "WEFT_CA", "--ca")
            _ = try required(caBundle, "WEFT_CA_BUNDLE", "--ca-bundle")
        }
        if stage != "authority" { _ = try required(registry, "WEFT_REGISTRY", "--registry") }
        let directory = try required(
            out ?? environment["WEFT_BOOTSTRAP_OUT"] ?? (stage == "registry" ? "." : nil), "WEFT_BOOTSTRAP_OUT", "--out"
        )
        let token: String
        if let file = adminTokenFile ?? environment["WEFT_ADMIN_TOKEN_FILE"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("--admin-token-file: cannot read \(file)")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let value = environment["WEFT_ADMIN_TOKEN"] {
            token = value
        } else {
            throw ValidationError("--admin-token-file is required (or WEFT_ADMIN_TOKEN_FILE, WEFT_ADMIN_TOKEN)")
        }
        try reportingFailure("bootstrap failed: ") {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let written = try DevMesh.bootstrap(
                stage: stage, registryURL: registryURL, authorityURL: caURL, bundleFile: bundle, adminToken: token,
                directory: directory)
            print(
                "weftctl: bootstrap (\(stage)) done\(written.isEmpty ? "" : "; wrote " + written.joined(separator: ", "))"
            )
        }
    }
}

extension GetCommand.Resource: ExpressibleByArgument {}
extension ApplyCommand.Kind: ExpressibleByArgument {}

/// `-o`: the form for people (a table, or text: the two names mean the same) or
/// JSON for scripts; shared by every command that prints data. Another value is
/// a usage error (exit 64).
struct OutputOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, text, json, yaml
    }

    @Option(name: .shortAndLong, help: ArgumentHelp("table (or text, the default), json or yaml.", valueName: "format"))
    var output: Format = .table

    /// Whether the command should produce JSON (also the source of YAML).
    var json: Bool { output == .json || output == .yaml }

    /// What the command produced, as asked: YAML is the JSON re-emitted.
    func render(_ text: String) throws -> String {
        output == .yaml ? try ApplyCommand.yaml(fromJSON: text) : text
    }
}

/// Where the registry is and the admin token: shared by the commands that call it.
struct RegistryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The registry, http://host:port. Env: WEFT_REGISTRY.", valueName: "url"))
    var registry: String?

    @Option(help: ArgumentHelp("File holding the admin token. Env: WEFT_ADMIN_TOKEN_FILE.", valueName: "file"))
    var adminTokenFile: String?

    @Option(
        help: ArgumentHelp("The dev mesh's state directory, for its context (default .weft/dev).", valueName: "dir"))
    var stateDir = ".weft/dev"

    @Option(
        name: .customLong("context"),
        help: ArgumentHelp(
            "A context of the config file (default: its current one). Env: WEFT_CONTEXT.", valueName: "name"))
    var contextName: String?

    func context() throws -> AdminContext {
        try AdminContext.resolve(
            registry: registry, adminTokenFile: adminTokenFile, stateDirectory: stateDir,
            environment: ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }, context: contextName)
    }
}

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Named contexts: which registry and CA commands talk to.",
        discussion: """
            Kept in $WEFT_CONFIG, else ~/.weft/config.yaml. A flag or a WEFT_* variable wins over the \
            context; the context over a dev mesh's saved one.
            """,
        subcommands: [GetContexts.self, UseContext.self, SetContext.self])

    static var file: String { ContextFile.path(environment: ProcessInfo.processInfo.environment) }

    struct GetContexts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get-contexts", abstract: "The contexts, the current one marked.")

        func run() throws {
            try reportingFailure {
                let contexts = try ContextFile.load(Config.file)
                print(ContextCommands.table(contexts))
            }
        }
    }

    struct UseContext: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "use-context", abstract: "Make a context the current one.")

        @Argument(help: ArgumentHelp("The context.", valueName: "name"))
        var name: String

        func run() throws {
            try reportingFailure {
                var contexts = try ContextFile.load(Config.file)
                _ = try contexts.selected(name)
                contexts.current = name
                try contexts.save(Config.file)
                print("current context: \(name)")
            }
        }
    }

    struct SetContext: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-context", abstract: "Create a context or change its fields (the others stay).")

        @Argument(help: ArgumentHelp("The context.", valueName: "name"))
        var name: String

        @Option(help: ArgumentHelp("The registry, http://host:port.", valueName: "url")) var registry: String?
        @Option(help: ArgumentHelp("The registry's admin token file.", valueName: "file")) var adminTokenFile: String?
        @Option(help: ArgumentHelp("The CA, https://host:port.", valueName: "url")) var ca: String?
        @Option(help: ArgumentHelp("The CA's trust bundle.", valueName: "file")) var caBundle: String?
        @Option(help: ArgumentHelp("The CA's admin token file.", valueName: "file")) var caTokenFile: String?
        @Option(help: ArgumentHelp("The mesh's trust domain.", valueName: "domain")) var trustDomain: String?

        func validate() throws {
            guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
            else {
                throw ValidationError("name: letters, digits, -, _ and ., at most 64")
            }
        }

        func run() throws {
            try reportingFailure {
                var contexts = try ContextFile.load(Config.file)
                var entry = contexts.contexts[name] ?? ContextFile.Entry()
                if let registry { entry.registry = registry }
                if let adminTokenFile { entry.adminTokenFile = adminTokenFile }
                if let ca { entry.ca = ca }
                if let caBundle { entry.caBundle = caBundle }
                if let caTokenFile { entry.caTokenFile = caTokenFile }
                if let trustDomain { entry.trustDomain = trustDomain }
                contexts.contexts[name] = entry
                if contexts.current == nil { contexts.current = name }
                try contexts.save(Config.file)
                print("context \(name): saved in \(Config.file)")
            }
        }
    }
}

/// Where the CA is, how to trust it, and its admin token.
/// Where the CA is and how to call it: the same four flags for `weftctl ca …`
/// and `weftctl status --ca`.
struct AuthorityFlags: ParsableArguments {
    @Option(help: ArgumentHelp("The CA, https://host:port. Env: WEFT_CA.", valueName: "url"))
    var ca: String?

    @Option(help: ArgumentHelp("The CA's trust bundle (PEM). Env: WEFT_CA_BUNDLE.", valueName: "file"))
    var caBundle: String?

    @Option(
        help: ArgumentHelp(
            "File holding the CA's admin token. Env: WEFT_CA_TOKEN_FILE, else WEFT_ADMIN_TOKEN_FILE.", valueName: "file"
        ))
    var caTokenFile: String?

    @Option(
        help: ArgumentHelp("The mesh's trust domain (default weft.local). Env: WEFT_TRUST_DOMAIN.", valueName: "domain")
    )
    var trustDomain: String?

    func context(named name: String?) throws -> AuthorityCommands.Context {
        try AuthorityCommands.Context.resolve(
            ca: ca, bundle: caBundle, adminTokenFile: caTokenFile, trustDomain: trustDomain,
            environment: ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }, context: name)
    }
}

struct AuthorityOptions: ParsableArguments {
    @OptionGroup var flags: AuthorityFlags

    @Option(
        name: .customLong("context"),
        help: ArgumentHelp(
            "A context of the config file (default: its current one). Env: WEFT_CONTEXT.", valueName: "name"))
    var contextName: String?

    func context() throws -> AuthorityCommands.Context { try flags.context(named: contextName) }
}

struct CA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "The CA's certificates and roots, over its admin API.",
        discussion: """
            Exit status: 0 on success, 1 when the CA refuses or cannot be reached (the message says why), \
            64 for a bad flag.
            """,
        subcommands: [Certificates.self, Revoke.self, Roots.self, Rotate.self, Tokens.self])

    struct Certificates: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every certificate the CA issued: identity, how (join token or renewal), expiry, state.")

        @Option(help: ArgumentHelp("Only this SPIFFE ID's certificates.", valueName: "spiffe-id"))
        var identity: String?

        @OptionGroup var authority: AuthorityOptions
        @OptionGroup var format: OutputOptions

        func run() throws {
            try reportingFailure {
                print(
                    try format.render(
                        AuthorityCommands.certificates(try authority.context(), identity: identity, json: format.json)))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a certificate by serial: peers refuse it once they poll the trust bundle.")

        @Argument(help: ArgumentHelp("The certificate's serial (hex).", valueName: "serial"))
        var serial: String

        @Option(help: ArgumentHelp("Why, kept in the CA's ledger.", valueName: "text"))
        var reason: String?

        @OptionGroup var authority: AuthorityOptions

        func run() throws {
            try reportingFailure {
                print(try AuthorityCommands.revoke(try authority.context(), serial: serial, reason: reason))
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One step of a root rotation: publish a new root, activate it, retire the old one.",
            discussion: """
                publish: a new generation, trusted by every proxy once it polls the bundle, signing nothing \
                yet. activate GENERATION: it signs from now on (after the CA's propagation delay). retire \
                GENERATION: no longer trusted; certificates it signed stop working. Wait between steps for \
                proxies to poll the bundle.
                """)

        @Argument(help: ArgumentHelp("publish, activate or retire.", valueName: "step"))
        var step: String

        @Argument(help: ArgumentHelp("The root's generation (activate, retire).", valueName: "generation"))
        var generation: String?

        @OptionGroup var authority: AuthorityOptions

        func validate() throws {
            guard ["publish", "activate", "retire"].contains(step) else {
                throw ValidationError("step: publish, activate or retire, got \(step.prefix(40))")
            }
        }

        func run() throws {
            try reportingFailure {
                print(try AuthorityCommands.rotate(try authority.context(), step: step, generation: generation))
            }
        }
    }

    struct Tokens: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join tokens: list them, make one (its secret is printed once), revoke one.",
            discussion: """
                weftctl ca tokens lists them; --create SPIFFE-ID makes one (--uses, --ttl) and prints only \
                its secret, for a file a workload reads with --join-token-file; --revoke ID revokes one.
                """)

        @Option(help: ArgumentHelp("Make a token for this SPIFFE ID.", valueName: "spiffe-id"))
        var create: String?

        @Option(help: ArgumentHelp("With --create: how many workloads may join with it (default 1).", valueName: "n"))
        var uses = 1

        @Option(
            help: ArgumentHelp(
                "With --create: how long it stays usable, such as 1h (the CA's default).", valueName: "duration"))
        var ttl: String?

        @Option(help: ArgumentHelp("Revoke the token with this id.", valueName: "id"))
        var revoke: String?

        @OptionGroup var authority: AuthorityOptions
        @OptionGroup var format: OutputOptions

        func validate() throws {
            guard create == nil || revoke == nil else { throw ValidationError("--create or --revoke, not both") }
            guard (1...1_000_000).contains(uses) else { throw ValidationError("--uses: 1 to 1000000") }
        }

        func run() throws {
            try reportingFailure {
                let context = try authority.context()
                if let create {
                    print(try AuthorityCommands.createToken(context, identity: create, uses: uses, ttl: ttl))
                } else if let revoke {
                    print(try AuthorityCommands.revokeToken(context, id: revoke))
                } else {
                    print(try format.render(AuthorityCommands.tokens(context, json: format.json)))
                }
            }
        }
    }

    struct Roots: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The CA's roots and their state: published, active, retired.")

        @OptionGroup var authority: AuthorityOptions
        @OptionGroup var format: OutputOptions

        func run() throws {
            try reportingFailure {
                print(try format.render(AuthorityCommands.roots(try authority.context(), json: format.json)))
            }
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The control plane and the mesh at a glance.",
        discussion: """
            The registry's readiness and state version, how many proxies are watching it for changes, \
            services and instances by health, and the instances no proxy sends traffic to; with --ca, \
            the CA's certificates in force and those expiring within --expiring-within. Exit 0 when \
            the registry is ready; 1 when it (or the CA) cannot be reached or is not ready.
            """)

    @OptionGroup var format: OutputOptions

    @OptionGroup var options: RegistryOptions

    /// With --ca (or a CA in the environment or context): the CA's certificates too.
    @OptionGroup var authority: AuthorityFlags

    @Option(
        help: ArgumentHelp("Certificates expiring sooner than this are listed (default 24h).", valueName: "duration"))
    var expiringWithin = "24h"

    func run() throws {
        try reportingFailure {
            let environment = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
            var caContext: AuthorityCommands.Context?
            let saved = try ContextFile.entry(named: options.contextName, environment: environment)
            if authority.ca ?? environment["WEFT_CA"] ?? saved?.ca != nil {
                caContext = try authority.context(named: options.contextName)
            }
            print(
                try format.render(
                    StatusCommand.run(
                        context: try options.context(), authority: caContext, expiringWithin: expiringWithin,
                        json: format.json)))
        }
    }
}

struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Everything the registry holds about one object, and what it means for traffic.",
        discussion: """
            service NAME: its protocol, instances and their health, traffic policy, routes, and the \
            intentions that guard it in the order its sidecars try them.
            instance ID (or SERVICE/ID, NAMESPACE/SERVICE/ID): address, zone, labels, health and whether \
            it receives traffic, when it expires, and the route rules whose destinations select it.
            policy NAME: the traffic policy in force (defaults filled in).
            service-routes NAME, gateway-routes NAME: the rules in the order they are tried, and for \
            each destination how many instances its subset selects now and how many receive traffic.
            intention ID: its fields and where it stands among the destination's intentions.
            defaults: the mesh's default action and trust domain.

            NAME is NAME or NAMESPACE/NAME (namespace default). Exit 0 when described, 1 when the \
            object is not in the registry or the registry cannot be reached, 64 for a bad command line.
            """)

    @Argument(
        help: ArgumentHelp(
            "What to describe: \(DescribeCommand.Kind.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "kind"))
    var kind: DescribeCommand.Kind

    @Argument(help: ArgumentHelp("Its name (defaults: none).", valueName: "name"))
    var name: String?

    @OptionGroup var options: RegistryOptions

    func validate() throws {
        if kind == .defaults, name != nil { throw ValidationError("describe defaults takes no name") }
        if kind != .defaults, name == nil { throw ValidationError("describe \(kind.rawValue): give its name") }
    }

    func run() throws {
        try reportingFailure { print(try DescribeCommand.run(kind, name, context: try options.context())) }
    }
}

extension DescribeCommand.Kind: ExpressibleByArgument {}

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or update registry objects from a JSON file.",
        discussion: """
            The file holds one document, an array of them, or several one after the other. Each \
            names its kind and is otherwise what the registry's API takes:

              {"kind": "service", "name": "payments", "protocol": "http"}
              {"kind": "policy", "service": "payments", "load_balancer": {"type": "peak_ewma"}}
              {"kind": "service-routes", "name": "payments", "routes": [...]}
              {"kind": "gateway-routes", "name": "edge", "routes": [...]}
              {"kind": "intention", "source": "*", "destination": "payments", "action": "allow"}
              {"kind": "defaults", "default_action": "deny"}

            Each document is validated here first (errors name the field), compared with what the \
            registry holds, and written only when it differs. Exit 0 when every document is applied \
            (or, with --dry-run, checked); 1 at the first refusal, after what was applied before it.
            """)

    @Option(name: .shortAndLong, help: ArgumentHelp("The file to apply (- for standard input).", valueName: "file"))
    var file: String

    @Flag(help: "Say what would change, field by field, and write nothing.")
    var dryRun = false

    @OptionGroup var options: RegistryOptions

    func run() throws {
        try reportingFailure {
            let documents = try ApplyCommand.documents(in: try ApplyCommand.read(file), file: file)
            print(try ApplyCommand.run(documents, context: try options.context(), dryRun: dryRun))
        }
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete a registry object.",
        discussion: """
            KIND is service, policy, service-routes, gateway-routes, intention or defaults; NAME is \
            NAME or NAMESPACE/NAME (an intention: its id, from weftctl get intentions; defaults: any).
            """)

    @Argument(help: ArgumentHelp("What to delete.", valueName: "kind"))
    var kind: ApplyCommand.Kind

    @Argument(help: ArgumentHelp("Its name (NAMESPACE/NAME), or an intention's id.", valueName: "name"))
    var name: String

    @OptionGroup var options: RegistryOptions

    func run() throws {
        try reportingFailure { print(try ApplyCommand.delete(kind, name, context: try options.context())) }
    }
}

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the registry's services, instances, intentions, routes or policies, or show the mesh defaults.")

    @Argument(help: ArgumentHelp("services, instances, intentions, routes, policies or defaults."))
    var resource: GetCommand.Resource

    @OptionGroup var format: OutputOptions

    @OptionGroup var options: RegistryOptions

    func run() throws {
        try reportingFailure {
            print(try format.render(GetCommand.run(resource, context: try options.context(), json: format.json)))
        }
    }
}

struct Route: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A gateway's routes.", subcommands: [Explain.self])

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which rule of the gateway would take a request, and why each earlier one did not.",
            discussion: """
                Asks the gateway's admin port (POST /routes/explain); nothing is forwarded. Example: \
                weftctl route explain /v1/pay -H x-firmware-version=2.3.0 -H x-terminal-id=T-1001
                """)

        @Argument(help: "The request path, /v1/pay.")
        var path: String

        @Option(
            name: [.customShort("H"), .customLong("header")],
            help: ArgumentHelp("A request header, name=value; repeatable.", valueName: "name=value"))
        var headers: [String] = []

        @Option(help: "The request's method (default GET).")
        var method = "GET"

        @Option(help: "The request's host (default localhost).")
        var host = "localhost"

        @Option(
            help: ArgumentHelp(
                "The gateway's admin port, http://host:port (default: the dev mesh's).", valueName: "url"))
        var admin: String?

        @OptionGroup var format: OutputOptions

        @Option(help: ArgumentHelp("The dev mesh's state directory (default .weft/dev).", valueName: "dir"))
        var stateDir = ".weft/dev"

        func validate() throws {
            guard path.hasPrefix("/") else { throw ValidationError("the path must start with /") }
            for header in headers where !header.contains("=") {
                throw ValidationError("--header \(header.prefix(80)): expected name=value")
            }
        }

        func run() throws {
            var values: [String: String] = [:]
            for header in headers {
                let parts = header.split(separator: "=", maxSplits: 1)
                values[String(parts[0]).lowercased()] = parts.count > 1 ? String(parts[1]) : ""
            }
            try reportingFailure {
                guard let url = admin ?? ProxyCommands.savedGatewayAdmin(stateDirectory: stateDir) else {
                    throw DevMeshError(
                        "no gateway: pass --admin http://host:port (its admin port), or start one with `weftctl dev up`"
                    )
                }
                print(
                    try format.render(
                        ProxyCommands.explain(
                            admin: url, method: method, host: host, path: path, headers: values, json: format.json)))
            }
        }
    }
}

struct Proxy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A sidecar's or gateway's admin endpoints.", subcommands: [Config.self, Cert.self, Endpoints.self])

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The snapshot a proxy runs on: its upstreams, endpoints, policies, routes and intentions.",
            discussion: """
                As the registry (or the snapshot file) gave it, with its version and when it was built: \
                what this proxy does now, whatever the registry holds since. Printed as JSON.
                """)

        @Option(help: ArgumentHelp("The proxy's admin port, http://host:port.", valueName: "url"))
        var admin: String

        func run() throws {
            try reportingFailure { print(try ProxyCommands.config(admin: admin)) }
        }
    }

    struct Cert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The proxy's mesh certificate: identity, serial, source, renewals, time left.")

        @Option(help: ArgumentHelp("The proxy's admin port, http://host:port.", valueName: "url"))
        var admin: String

        func run() throws {
            try reportingFailure { print(try ProxyCommands.certificate(admin: admin)) }
        }
    }

    struct Endpoints: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The endpoints a proxy balances over: requests in flight, latency, ejections.",
            discussion: """
                Each upstream endpoint as the proxy's balancer sees it: its zone and weight, requests in \
                flight, its peak-EWMA latency estimate, consecutive failures, and for how long outlier \
                detection has ejected it. See docs/traffic-policy.md.
                """)

        @Option(help: ArgumentHelp("The proxy's admin port, http://host:port.", valueName: "url"))
        var admin: String

        @OptionGroup var format: OutputOptions

        func run() throws {
            try reportingFailure { print(try format.render(ProxyCommands.endpoints(admin: admin, json: format.json))) }
        }
    }
}
