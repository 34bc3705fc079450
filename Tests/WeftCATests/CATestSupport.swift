import Foundation
import WeftTestSupport

/// A temporary directory for one test, with `openssl` run inside it.
final class Scratch: @unchecked Sendable {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/weft-ca-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ contents: String) throws -> String {
        try contents.write(toFile: file(name), atomically: true, encoding: .utf8)
        return file(name)
    }

    func read(_ name: String) throws -> String { try String(contentsOfFile: file(name), encoding: .utf8) }

    /// Runs the openssl tool; returns its exit code and output.
    @discardableResult
    func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try ChildProcess.run("/usr/bin/openssl", arguments)
    }

    /// A CSR made by the openssl tool for a new key of `keyType`
    /// (`ec`, `rsa:N`, `ed25519`), naming `uris`.
    func csr(_ name: String, keyType: String = "ec", uris: [String]) throws -> String {
        let key = file("\(name)-key.pem")
        switch keyType {
        case "ec": try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        case "ed25519": try openssl(["genpkey", "-algorithm", "ed25519", "-out", key])
        default:
            let bits = keyType.split(separator: ":").last.map(String.init) ?? "2048"
            try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(bits)", "-out", key])
        }
        var arguments = ["req", "-new", "-key", key, "-subj", "/", "-out", file("\(name).csr")]
        if !uris.isEmpty {
            arguments += ["-addext", "subjectAltName=" + uris.map { "URI:\($0)" }.joined(separator: ",")]
        }
        let result = try openssl(arguments)
        guard result.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: ["output": result.output]) }
        return try read("\(name).csr")
    }
}
