import Foundation
import WeftService

#if canImport(Glibc)
    import Glibc
#endif

/// A process `weftctl dev up` runs: spawned with its output appended to a log
/// file, in a process group of its own (so the terminal's Ctrl-C reaches
/// weftctl alone, which then stops everything in order), and recorded in the
/// state directory's pid file so `weftctl dev down` can find it.
///
/// posix_spawn and waitpid rather than Foundation's Process, whose
/// waitUntilExit was seen to miss a child's exit.
public final class LaunchedProcess: @unchecked Sendable {
    // @unchecked: `status` is guarded by the lock; everything else is set once.
    public let name: String
    public let pid: Int32
    public let logPath: String
    /// Where this run's output begins in the log (earlier runs' output stays above).
    private let logStart: UInt64
    private let lock = NSLock()
    private var status: Int32?

    public init(name: String, executable: String, arguments: [String], log: String, environment: [String: String] = [:])
        throws(DevMeshError)
    {
        self.name = name
        self.logPath = log
        self.logStart = ((try? FileManager.default.attributesOfItem(atPath: log)[.size]) as? NSNumber)?.uint64Value ?? 0
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { $1 }
        do {
            pid = try ProcessSpawning.spawn(
                executable, arguments, environment: merged.map { "\($0.key)=\($0.value)" }, output: log, append: true,
                ownProcessGroup: true)
        } catch {
            throw DevMeshError("cannot start \(name): \(error)")
        }
    }

    /// This run's log so far.
    public var log: String {
        guard let handle = FileHandle(forReadingAtPath: logPath) else { return "" }
        defer { try? handle.close() }
        try? handle.seek(toOffset: logStart)
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }

    /// Whether it has exited (reaping it if so).
    public var hasExited: Bool {
        lock.lock()
        defer { lock.unlock() }
        if status != nil { return true }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid {
            status = raw
            return true
        }
        return false
    }

    /// Waits until the log holds `text`; fails when the process exits first or
    /// `timeout` passes, with the end of its log.
    public func waitForLog(_ text: String, timeout: Double = 30) throws(DevMeshError) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return }
            if hasExited {
                throw DevMeshError("\(name) exited while starting; the end of \(logPath):\n\(log.suffix(1500))")
            }
            usleep(50_000)
        }
        throw DevMeshError("\(name) did not start within \(Int(timeout))s; the end of \(logPath):\n\(log.suffix(1500))")
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; reaps it.
    public func stop(grace: Double = 10) {
        guard !hasExited else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            if hasExited { return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        while !hasExited { usleep(10_000) }
    }
}

/// What went wrong bringing the dev mesh up or down, in words for the terminal.
public struct DevMeshError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A loopback port that was free a moment ago.
func freeLoopbackPort() throws(DevMeshError) -> Int {
    do {
        return try ProcessSpawning.freeLoopbackPort()
    } catch {
        throw DevMeshError("\(error)")
    }
}

/// Whether something already listens on 127.0.0.1:`port`.
func portInUse(_ port: Int) -> Bool {
    guard let descriptor = ProcessSpawning.connectLoopback(port: port) else { return false }
    close(descriptor)
    return true
}

/// Runs a short command to its end; its exit status and output.
func runToEnd(_ executable: String, _ arguments: [String], log: String) throws(DevMeshError) -> (Int32, String) {
    unlink(log)
    let process = try LaunchedProcess(name: executable, executable: executable, arguments: arguments, log: log)
    var raw: Int32 = 0
    while waitpid(process.pid, &raw, 0) < 0 && errno == EINTR {}
    let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
    return (code, process.log)
}
