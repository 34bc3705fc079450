#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Limits Weft's listeners take from the system rather than hard-coding.
public enum SystemLimits {
    /// The accept queue every listener asks for: the kernel's own ceiling
    /// (`net.core.somaxconn`, 4,096 on current Linux). A smaller fixed backlog
    /// (Hummingbird's default is 256) overflows when a thousand proxies reconnect
    /// their long-polls at once after a restart, and the kernel then drops SYNs
    /// that are retried only seconds later.
    public static let listenBacklog: Int = {
        guard let file = fopen("/proc/sys/net/core/somaxconn", "r") else { return 4096 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 32)
        guard fgets(&line, Int32(line.count), file) != nil else { return 4096 }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let value = Int(text.filter(\.isNumber)), value > 0 else { return 4096 }
        return value
    }()
}
