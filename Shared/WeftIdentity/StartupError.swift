/// Why a process cannot start, in words that name the flag or file at fault:
/// a proxy's or the registry's identity, a proxy's snapshot. The executables
/// turn it into exit status 78 (EX_CONFIG).
public struct StartupError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
