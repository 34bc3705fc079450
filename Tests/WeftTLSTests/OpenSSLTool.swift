import Foundation
import WeftTestSupport

/// Runs the `openssl` command-line tool: the independent judge of what WeftTLS
/// produces. Returns stdout; throws with stderr when the tool fails.
struct OpenSSLToolError: Error, CustomStringConvertible {
    let description: String
}

func openssl(_ arguments: [String], input: String = "") throws -> String {
    let run = try Command.run("/usr/bin/openssl", arguments, input: input)
    guard run.status == 0 else {
        throw OpenSSLToolError(description: "openssl \(arguments.joined(separator: " ")): \(run.errors)\(run.output)")
    }
    return run.output
}

/// A fresh temporary directory, removed by `cleanup()`.
struct ScratchDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "/weft-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ contents: String) throws -> String {
        let file = path + "/" + name
        try contents.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}
