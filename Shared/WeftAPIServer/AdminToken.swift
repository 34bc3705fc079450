public import Logging
import WeftTLS

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where a service's admin bearer token comes from: a file the operator names,
/// else the `WEFT_ADMIN_TOKEN` variable, else a random token generated once into
/// a private file and reused on later starts (so a restart does not lock the
/// operator out). The token is never logged.
public enum AdminToken {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// - Parameters:
    ///   - file: `--admin-token-file` (or `WEFT_ADMIN_TOKEN_FILE`).
    ///   - value: `WEFT_ADMIN_TOKEN`.
    ///   - generatedPath: where to create or find a generated token, e.g.
    ///     `.weft/registry-admin-token`.
    public static func resolve(file: String?, value: String?, generatedPath: String, logger: Logger) throws(Failure)
        -> String
    {
        let token: String
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw Failure(description: "--admin-token-file: cannot read \(file)")
            }
            token = stripped(text)
        } else if let value {
            token = stripped(value)
        } else {
            token = try generated(at: generatedPath, logger: logger)
        }
        guard token.utf8.count >= 16, token.utf8.count <= 512, !token.contains(where: \.isWhitespace) else {
            throw Failure(description: "the admin token must be 16 to 512 characters without spaces")
        }
        return token
    }

    /// Created with mode 0600 from the moment it exists (O_EXCL, not a file made
    /// readable and then narrowed); its directory 0700.
    static func generated(at path: String, logger: Logger) throws(Failure) -> String {
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            logger.notice("no admin token configured; using the generated one", metadata: ["file": "\(path)"])
            return stripped(existing)
        }
        let token: String
        do {
            token = try SecretDigest.newSecret(prefix: "wat_")
        } catch {
            throw Failure(description: "cannot generate an admin token: \(error)")
        }
        if let slash = path.lastIndex(of: "/") {
            let directory = String(path[..<slash])
            if !directory.isEmpty && mkdir(directory, 0o700) != 0 && errno != EEXIST {
                throw Failure(description: "cannot create \(directory): \(String(cString: strerror(errno)))")
            }
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(
                description:
                    "cannot write a generated admin token to \(path) (\(String(cString: strerror(errno)))); set WEFT_ADMIN_TOKEN or --admin-token-file"
            )
        }
        defer { close(descriptor) }
        let bytes = Array((token + "\n").utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else {
            throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        logger.notice("no admin token configured; generated one", metadata: ["file": "\(path)"])
        return token
    }

    static func stripped(_ text: String) -> String {
        var result = Substring(text)
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return String(result)
    }
}
