import Foundation
import WeftService

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A process started by a test (a server such as nghttpd or openssl s_server),
/// stopped and reaped by `stop()` or when the object goes away.
///
/// Spawned with posix_spawn and reaped with waitpid rather than Foundation's
/// Process: Process.waitUntilExit was seen to miss a child's exit when called from
/// a Swift Testing test and hang the run. Output goes to a file, so nothing the
/// child leaves behind can hold a pipe open.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `pid` is set in init; `finished` is guarded by the lock.
    public let pid: Int32
    public let outputPath: String
    private let lock = NSLock()
    private var status: Int32?

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts `executable` with `arguments`, stdin from /dev/null, stdout and
    /// stderr to a temporary file. `environment` adds to (or replaces in) this
    /// process's environment.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        outputPath = NSTemporaryDirectory() + "/weft-child-\(UUID().uuidString).log"
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { $1 }
        do {
            pid = try ProcessSpawning.spawn(
                executable, arguments, environment: merged.map { "\($0.key)=\($0.value)" }, output: outputPath)
        } catch {
            throw Failure(description: "could not run \(executable): \(error)")
        }
    }

    deinit {
        _ = stop()
        unlink(outputPath)
    }

    /// Waits for the process to exit by itself; returns its wait status.
    @discardableResult
    public func wait() -> Int32 {
        lock.withLock {
            if let status { return status }
            var result: Int32 = 0
            while waitpid(pid, &result, 0) == -1 && errno == EINTR {}
            status = result
            return result
        }
    }

    /// Sends SIGTERM, waits up to `grace` seconds, then SIGKILL (so a stuck child
    /// can never hang the run); returns the wait status. Safe to call more than once.
    @discardableResult
    public func stop(grace: Double = 5) -> Int32 {
        lock.withLock {
            if let status { return status }
            kill(pid, SIGTERM)
            var result: Int32 = 0
            let deadline = Date().addingTimeInterval(grace)
            while true {
                let reaped = waitpid(pid, &result, WNOHANG)
                if reaped == pid { break }
                if reaped == -1 && errno != EINTR { break }
                if Date() > deadline {
                    kill(pid, SIGKILL)
                    while waitpid(pid, &result, 0) == -1 && errno == EINTR {}
                    break
                }
                usleep(10_000)
            }
            status = result
            return result
        }
    }

    /// Whether the process exited with status 0 (after `wait` or `stop`).
    public static func succeeded(_ status: Int32) -> Bool { status & 0x7f == 0 && (status >> 8) & 0xff == 0 }

    /// What the process wrote so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Runs to completion and returns (exit status, output).
    public static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let child = try ChildProcess(executable, arguments)
        let status = child.wait()
        return ((status >> 8) & 0xff, child.output)
    }

    /// Sends `signal` (the process keeps running unless it exits on it).
    public func signal(_ number: Int32) { kill(pid, number) }

    /// The path of an executable this package built (`weft-echo`, …): products sit
    /// next to the test bundle in the build directory.
    public static func builtProduct(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Waits until the output contains `text` (a "listening" line, say), up to
    /// `timeout` seconds; false if it never did.
    public func waitForOutput(_ text: String, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.contains(text) { return true }
            usleep(20_000)
        }
        return output.contains(text)
    }
}

extension ChildProcess {
    /// `wait()` on a thread of its own: blocking calls inside async tests would
    /// hold one of the cooperative pool's few threads (two on a 2-core machine),
    /// and two such waits at once starve every task in the test process, servers
    /// under test included.
    public func exited() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.wait()) }
        }
    }

    /// `stop(grace:)` on a thread of its own (see `exited()`).
    public func stopped(grace: Double = 5) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.stop(grace: grace)) }
        }
    }

    /// Waits until the output contains `text`, without blocking a thread.
    public func outputAppears(_ text: String, timeout: Double = 10) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return output.contains(text)
    }
}

/// Runs `body`, which blocks (waits for processes, sockets, sleeps), on a thread
/// of its own, and awaits it. Swift Testing runs tests on the cooperative thread
/// pool, as wide as the machine has cores (2 here): a test that blocks holds one
/// of its threads for its whole run, and two such tests at once starve every
/// async test and the in-process servers they drive (a registry whose accept
/// loop is a task, say) for as long as they last.
///
/// The body runs in the calling task, on a task executor of its own thread (not
/// a bare thread), so `#expect` inside it is still recorded against its test.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let executor = ThreadTaskExecutor()
    defer { executor.stop() }
    return try await withTaskExecutorPreference(executor) { try body() }
}

/// A task executor with one thread of its own, for `blocking`.
final class ThreadTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` and `stopped` are guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    init() {
        let thread = Thread { [self] in run() }
        thread.stackSize = 8 << 20
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
