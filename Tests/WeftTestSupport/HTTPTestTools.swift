import Dispatch
import Foundation
import NIOConcurrencyHelpers

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
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String]) throws -> (
        status: Int32, output: String, errors: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Both pipes drained at once: read one after the other, a child that
        // fills the second (64 KiB) before closing the first would never exit.
        let err = NIOLockedValueBox(Data())
        let drained = DispatchSemaphore(value: 0)
        let errorHandle = errors.fileHandleForReading
        DispatchQueue.global().async {
            let data = errorHandle.readDataToEndOfFile()
            err.withLockedValue { $0 = data }
            drained.signal()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: out, as: UTF8.self),
            String(decoding: err.withLockedValue { $0 }, as: UTF8.self)
        )
    }

    public static func curl(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try run("/usr/bin/curl", ["--silent", "--show-error", "--max-time", "20"] + arguments)
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
