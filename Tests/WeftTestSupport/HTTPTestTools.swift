import Dispatch
import Foundation
import WeftService

/// A temporary directory for one test's files.
public struct Scratch: Sendable {
    public let path = NSTemporaryDirectory() + "/weft-test-" + UUID().uuidString
    public init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    public func file(_ name: String) -> String { path + "/" + name }
    public func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: file(name), atomically: true, encoding: .utf8)
        return file(name)
    }
    public func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Real command-line clients (curl, openssl, h2load) run to completion.
public enum Command {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Runs a command; returns its exit status and standard output (stderr apart).
    ///
    /// Spawned with posix_spawn and reaped with waitpid, its output in files:
    /// Foundation's `Process.waitUntilExit` was seen to miss a child's exit and
    /// hang a run, and pipes read one after the other deadlock on a child that
    /// fills the second.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> (
        status: Int32, output: String, errors: String
    ) {
        let base = NSTemporaryDirectory() + "/weft-command-" + UUID().uuidString
        let (outputPath, errorsPath, inputPath) = (base + ".out", base + ".err", base + ".in")
        defer { for path in [outputPath, errorsPath, inputPath] { unlink(path) } }
        if let input { try input.write(toFile: inputPath, atomically: false, encoding: .utf8) }
        let pid: Int32
        do {
            pid = try ProcessSpawning.spawn(
                executable, arguments,
                environment: ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" },
                output: outputPath, errors: errorsPath, input: input == nil ? "/dev/null" : inputPath)
        } catch {
            throw Failure(description: "could not run \(executable): \(error)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // As Process reports it: the exit code, or the signal that ended it.
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
        let read = { (path: String) in
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        return (code, read(outputPath), read(errorsPath))
    }

    public static func curl(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try run("/usr/bin/curl", ["--silent", "--show-error", "--max-time", "20"] + arguments)
    }

    /// The TLS alert a server ends a handshake with ("unknown ca",
    /// "certificate required", "access denied", …), as `openssl s_client` reads
    /// it; nil when no alert came. curl cannot be the judge: when the server
    /// closes right after its alert, curl sometimes fails on the closed socket
    /// (exit 55, getpeername) before it reads the alert. s_client keeps reading
    /// (`-ign_eof`) until the server closes; `timeout` ends it if none does.
    public static func tlsAlert(
        port: Int, certificate: String? = nil, key: String? = nil, alpn: String = "h2"
    ) throws -> String? {
        var arguments = [
            "10", "openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-alpn", alpn,
            "-ign_eof",
        ]
        if let certificate, let key { arguments += ["-cert", certificate, "-key", key] }
        let result = try run("/usr/bin/timeout", arguments)
        let text = result.output + result.errors
        return text.firstMatch(of: /alert ([a-z ]+?)(?::|\n|$)/).map { String($0.1) }
    }

    /// A JSON object (weft-echo's report, a problem document).
    public static func object(_ json: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw Failure(description: "not a JSON object: \(json.prefix(200))")
        }
        return object
    }

    /// Waits up to five seconds for `condition`.
    public static func eventually(timeout: Double = 10, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() && Date() < deadline { Thread.sleep(forTimeInterval: 0.025) }
    }

    /// Random bytes, eight at a time (byte by byte is seconds in a debug build).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: (count + 7) / 8 * 8)
        bytes.withUnsafeMutableBytes { raw in
            for index in 0..<(raw.count / 8) {
                raw.storeBytes(of: generator.next(), toByteOffset: index * 8, as: UInt64.self)
            }
        }
        return Array(bytes.prefix(count))
    }
}
