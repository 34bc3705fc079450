#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Files that must never be seen half-written or briefly readable by others:
/// keys, certificates, persisted snapshots. Created with their final mode
/// from the first byte (`open(O_EXCL)`, never a file narrowed afterwards),
/// flushed to disk before they count as written, and replaced by rename, so a
/// crash leaves either the old file or the new one.
public enum DurableFile {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ what: String, _ path: String) {
            description = "cannot \(what) \(path): \(String(cString: strerror(errno)))"
        }
    }

    /// Creates `path`, which must not exist, with `mode`.
    public static func create(_ path: String, _ contents: String, mode: UInt32) throws(Failure) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
        guard descriptor >= 0 else { throw Failure("create", path) }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else { throw Failure("write", path) }
            written += result
        }
        guard fsync(descriptor) == 0 else { throw Failure("flush", path) }
    }

    /// Writes `path` whole or not at all: a scratch file beside it, flushed,
    /// renamed over it, and the directory flushed so the rename survives a crash.
    public static func replace(_ path: String, _ contents: String, mode: UInt32) throws(Failure) {
        let scratch = path + ".new-\(getpid())"
        unlink(scratch)  // a leftover of an earlier crash of this same process id
        do {
            try create(scratch, contents, mode: mode)
        } catch {
            unlink(scratch)
            throw error
        }
        guard rename(scratch, path) == 0 else {
            let failure = Failure("rename into place", path)
            unlink(scratch)
            throw failure
        }
        let slash = path.lastIndex(of: "/")
        syncDirectory(slash.map { String(path[..<$0]) } ?? ".")
    }

    /// Flushes a directory, so that renames in it survive a crash.
    public static func syncDirectory(_ directory: String) {
        let handle = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if handle >= 0 {
            _ = fsync(handle)
            close(handle)
        }
    }

    /// Creates `path` as a directory with `mode` if it does not exist, and
    /// refuses one that others may read when `mode` says they may not.
    public static func ensureDirectory(_ path: String, mode: UInt32 = 0o700) throws(Failure) {
        if mkdir(path, mode_t(mode)) != 0 && errno != EEXIST { throw Failure("create the directory", path) }
        var status = stat()
        guard stat(path, &status) == 0 else { throw Failure("read", path) }
        guard (status.st_mode & S_IFMT) == S_IFDIR else {
            errno = ENOTDIR
            throw Failure("use as a directory", path)
        }
        let extra = UInt32(status.st_mode) & 0o777 & ~mode
        guard extra == 0 else {
            errno = EACCES
            throw Failure(
                "use (others may read it; run chmod \(String(mode, radix: 8)) on it)", path)
        }
    }
}
