import Foundation

/// Runs the `openssl` command-line tool: the independent judge of what WeftTLS
/// produces. Returns stdout; throws with stderr when the tool fails.
struct OpenSSLToolError: Error, CustomStringConvertible {
    let description: String
}

func openssl(_ arguments: [String], input: String = "", in directory: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw OpenSSLToolError(
            description:
                "openssl \(arguments.joined(separator: " ")): \(String(decoding: errors + output, as: UTF8.self))")
    }
    return String(decoding: output, as: UTF8.self)
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
