import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL `weftctl dev up` runs for itself: Debian's server binaries,
/// a cluster initialized once into the state directory and reused, listening
/// on a loopback port only, trusting local connections (it is a development
/// mesh on one machine).
///
/// PostgreSQL refuses to run as root; as root the cluster belongs to the
/// `postgres` user and lives where that user can reach it
/// (`/var/tmp/weft-dev-<hash of the state directory>`), started through runuser.
struct LocalPostgres {
    let binaries: String
    let dataDirectory: String
    let logDirectory: String
    let port: Int
    let runAs: String?

    var url: String { "postgresql://weft@127.0.0.1:\(port)/weft" }

    init(stateDirectory: String, port: Int) throws(DevMeshError) {
        binaries = try Self.findBinaries()
        runAs = geteuid() == 0 ? "postgres" : nil
        if runAs != nil {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in stateDirectory.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            dataDirectory = "/var/tmp/weft-dev-\(String(hash, radix: 16))/postgres"
        } else {
            dataDirectory = stateDirectory + "/postgres"
        }
        logDirectory = stateDirectory + "/logs"
        self.port = port
    }

    static func findBinaries() throws(DevMeshError) -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw DevMeshError(
            "no PostgreSQL server found under \(root); install it (scripts/install-deps does) or pass --database-url")
    }

    private func run(_ tool: String, _ arguments: [String]) throws(DevMeshError) {
        let executable = binaries + "/" + tool
        let argv = runAs.map { ["-u", $0, "--", executable] + arguments } ?? arguments
        let (code, output) = try runToEnd(
            runAs == nil ? executable : "/usr/sbin/runuser", argv, log: logDirectory + "/\(tool).log")
        guard code == 0 else { throw DevMeshError("\(tool) failed (exit \(code)):\n\(output.suffix(1500))") }
    }

    /// Initializes the cluster the first time; starts it.
    func start() throws(DevMeshError) {
        if !FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            let parent = (dataDirectory as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            if let runAs {
                _ = try? runToEnd("/usr/bin/chown", [runAs, parent], log: logDirectory + "/chown.log")
            }
            try run(
                "initdb",
                ["-D", dataDirectory, "-U", "weft", "--auth=trust", "--encoding=UTF8", "--no-instructions"])
        }
        // A server left running by an earlier weftctl that was killed is stopped first.
        if FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") {
            try? run("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "30", "stop"])
        }
        let options = "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200"
        try run(
            "pg_ctl",
            ["-D", dataDirectory, "-l", dataDirectory + "/../server.log", "-w", "-t", "60", "-o", options, "start"])
        // The database weft uses; "already exists" on later runs is fine.
        let created = try runToEnd(
            runAs == nil ? binaries + "/createdb" : "/usr/sbin/runuser",
            (runAs.map { ["-u", $0, "--", binaries + "/createdb"] } ?? [])
                + ["-h", "127.0.0.1", "-p", "\(port)", "-U", "weft", "weft"],
            log: logDirectory + "/createdb.log")
        guard created.0 == 0 || created.1.contains("already exists") else {
            throw DevMeshError("createdb failed:\n\(created.1.suffix(1000))")
        }
    }

    func stop() {
        try? run("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "30", "stop"])
    }
}
