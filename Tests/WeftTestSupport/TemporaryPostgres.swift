import Foundation
import WeftService

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real PostgreSQL server for one test run: `initdb` into a fresh temporary
/// directory, `postgres` on a free loopback port, torn down (server stopped,
/// directory removed) by `stop()` or when the object goes away.
///
/// When `WEFT_TEST_DATABASE_URL` is set, that database is used instead and nothing
/// is started or stopped: point it at a database you do not mind tests writing to.
///
/// The server binaries are found through `WEFT_PG_BIN`, then Debian's
/// `/usr/lib/postgresql/<version>/bin` (newest first), then `PATH`. PostgreSQL
/// refuses to run as root, so when the tests run as root (CI containers do) the
/// binaries run as the `postgres` system user through `runuser`.
///
/// Settings favour speed over durability (`fsync=off`): the data is thrown away.
/// A test about what survives a crash asks for `start(durable: true)`, which
/// keeps PostgreSQL's shipped settings (fsync, synchronous commit, full-page
/// writes) so that a lost commit could be observed.
public final class TemporaryPostgres: @unchecked Sendable {
    // @unchecked: all state is set in init and only read afterwards, except the
    // `stopped` flag, which the lock guards.
    /// A libpq URL for the server's `postgres` database, user `weft`, no password.
    public let url: String
    public let port: Int
    /// The cluster's directory; nil when using `WEFT_TEST_DATABASE_URL`.
    public let directory: String?
    private let binaries: String?
    private let runAs: String?
    /// Whether the server runs with PostgreSQL's shipped durability settings.
    public let durable: Bool
    private let lock = NSLock()
    private var stopped = false

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts a server, or returns the external one named by `WEFT_TEST_DATABASE_URL`.
    public static func start(durable: Bool = false) throws -> TemporaryPostgres {
        if let external = ProcessInfo.processInfo.environment["WEFT_TEST_DATABASE_URL"], !external.isEmpty {
            return TemporaryPostgres(external: external)
        }
        let binaries = try findBinaries()
        let runAs = geteuid() == 0 ? "postgres" : nil
        let directory = try makeDirectory(owner: runAs)
        do {
            try run(
                binaries + "/initdb",
                [
                    "-D", directory + "/data", "-U", "weft", "--auth=trust", "--encoding=UTF8", "--no-sync",
                    "--no-instructions",
                ], runAs: runAs)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        // Another process can take the port between our probe and the server's
        // bind; try a few.
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            let options = serverOptions(port: port, directory: directory, durable: durable)
            do {
                try run(
                    binaries + "/pg_ctl",
                    [
                        "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o", options,
                        "start",
                    ], runAs: runAs)
                return TemporaryPostgres(
                    port: port, directory: directory, binaries: binaries, runAs: runAs, durable: durable)
            } catch {
                lastError = error
            }
        }
        let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: directory)
        throw Failure(
            description: "PostgreSQL did not start: \(lastError.map { "\($0)" } ?? "unknown")\n\(log.suffix(2000))")
    }

    private init(external: String) {
        self.url = external
        self.port = 0
        self.directory = nil
        self.binaries = nil
        self.runAs = nil
        self.durable = false
    }

    private init(port: Int, directory: String, binaries: String, runAs: String?, durable: Bool) {
        self.url = "postgresql://weft@127.0.0.1:\(port)/postgres"
        self.port = port
        self.directory = directory
        self.binaries = binaries
        self.runAs = runAs
        self.durable = durable
    }

    deinit {
        stop()
    }

    /// Stops the server at once (no checkpoint: the data is disposable) and removes
    /// its directory. Safe to call more than once.
    public func stop() {
        let shouldStop: Bool = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard shouldStop, let directory, let binaries else { return }
        _ = try? Self.run(
            binaries + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "-t", "30", "stop"], runAs: runAs
        )
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Whether the server can be stopped and started again (not an external one).
    public var canRestart: Bool { directory != nil }

    /// Stops the server but keeps its data, as an outage would ("fast" shutdown:
    /// clients are disconnected, committed data stays).
    public func pause() throws {
        guard let directory, let binaries else { throw Failure(description: "an external server cannot be paused") }
        try Self.run(
            binaries + "/pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "-t", "30", "stop"], runAs: runAs)
    }

    /// Kills the server as a power cut would ("immediate" shutdown: no
    /// checkpoint; what was committed must come back from the WAL on `resume`).
    public func crash() throws {
        guard let directory, let binaries else { throw Failure(description: "an external server cannot be crashed") }
        try Self.run(
            binaries + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "-t", "30", "stop"],
            runAs: runAs)
    }

    /// Starts a paused or crashed server again, on the same port with the same
    /// data (after a crash, PostgreSQL replays its WAL first).
    public func resume() throws {
        guard let directory, let binaries else { throw Failure(description: "an external server cannot be resumed") }
        let options = Self.serverOptions(port: port, directory: directory, durable: durable)
        try Self.run(
            binaries + "/pg_ctl",
            ["-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o", options, "start"],
            runAs: runAs)
    }

    /// Runs `body` against a fresh server, stopping it whatever happens.
    /// `initdb`, `pg_ctl` and the removal run on a thread of their own (see
    /// `blocking`), not on the cooperative pool the in-process servers need.
    public static func with<T>(durable: Bool = false, _ body: (TemporaryPostgres) async throws -> T) async throws -> T {
        let server = try await blocking { try start(durable: durable) }
        do {
            let result = try await body(server)
            _ = try? await blocking { server.stop() }
            return result
        } catch {
            _ = try? await blocking { server.stop() }
            throw error
        }
    }

    /// `pause`, `crash` and `resume` for async callers, off the cooperative pool.
    public func paused() async throws { try await blocking { try self.pause() } }
    public func crashed() async throws { try await blocking { try self.crash() } }
    public func resumed() async throws { try await blocking { try self.resume() } }

    // MARK: Helpers

    /// The server's settings: loopback only, socket in the cluster's directory,
    /// durability off (the data is disposable) unless `durable`.
    static func serverOptions(port: Int, directory: String, durable: Bool) -> String {
        let speed = durable ? [] : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        return (["-p \(port)", "-k \(directory)", "-c listen_addresses=127.0.0.1", "-c max_connections=200"] + speed)
            .joined(separator: " ")
    }

    static func findBinaries() throws -> String {
        let fileManager = FileManager.default
        if let configured = ProcessInfo.processInfo.environment["WEFT_PG_BIN"], !configured.isEmpty {
            guard fileManager.isExecutableFile(atPath: configured + "/initdb") else {
                throw Failure(description: "WEFT_PG_BIN=\(configured) holds no initdb")
            }
            return configured
        }
        let debian = "/usr/lib/postgresql"
        let versions = ((try? fileManager.contentsOfDirectory(atPath: debian)) ?? []).compactMap(Int.init).sorted(by: >)
        for version in versions where fileManager.isExecutableFile(atPath: "\(debian)/\(version)/bin/initdb") {
            return "\(debian)/\(version)/bin"
        }
        for entry in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            if fileManager.isExecutableFile(atPath: "\(entry)/initdb") { return String(entry) }
        }
        throw Failure(
            description:
                "no PostgreSQL server binaries found (install Debian's postgresql package, or set WEFT_PG_BIN or WEFT_TEST_DATABASE_URL)"
        )
    }

    static func makeDirectory(owner: String?) throws -> String {
        var template = Array((NSTemporaryDirectory() + "/weft-pg-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw Failure(description: "could not create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: made)
        if let owner {
            guard let user = getpwnam(owner) else {
                throw Failure(
                    description: "running as root needs the '\(owner)' user that Debian's postgresql package creates")
            }
            guard chown(path, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
                throw Failure(description: "could not hand \(path) to \(owner): \(String(cString: strerror(errno)))")
            }
        }
        return path
    }

    /// Runs a command (as `runAs` through runuser when given), throwing with its
    /// output when it fails. See `ChildProcess` for why this avoids Foundation's
    /// Process.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], runAs: String?) throws -> String {
        let argv = runAs.map { ["-u", $0, "--", executable] + arguments } ?? arguments
        let (code, output) = try ChildProcess.run(runAs == nil ? executable : "/usr/sbin/runuser", argv)
        guard code == 0 else {
            throw Failure(
                description: "\((executable as NSString).lastPathComponent) exited with \(code): \(output.suffix(2000))"
            )
        }
        return output
    }

    /// A loopback port that was free a moment ago (bound to port 0, then released).
    public static func freeLoopbackPort() throws -> Int {
        try ProcessSpawning.freeLoopbackPort()
    }
}

extension TemporaryPostgres {
    private static let sharedServer = NSLock()
    nonisolated(unsafe) private static var shared: TemporaryPostgres?

    /// One server for the whole test process, started on first use and stopped
    /// when the process exits. Tests that only need a database of their own (not
    /// a server they can stop) use it with `CREATE DATABASE`, which costs far less
    /// than an `initdb` each when dozens of tests run in parallel on two cores.
    public static func sharedInstance() throws -> TemporaryPostgres {
        sharedServer.lock()
        defer { sharedServer.unlock() }
        if let shared { return shared }
        let server = try start()
        shared = server
        atexit {
            TemporaryPostgres.sharedServer.lock()
            let server = TemporaryPostgres.shared
            TemporaryPostgres.shared = nil
            TemporaryPostgres.sharedServer.unlock()
            server?.stop()
        }
        return server
    }

    /// The URL of database `name` on this server.
    public func url(database name: String) -> String {
        guard let slash = url.lastIndex(of: "/") else { return url }
        return url[...slash] + name
    }
}
