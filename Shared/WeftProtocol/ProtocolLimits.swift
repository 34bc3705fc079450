/// Bounds on every size and count WeftProtocol accepts. Hostile or mistaken input
/// cannot make a registry, CA or proxy do unbounded work: anything larger is
/// refused at decode time with a precise error. docs/protocol.md lists these.
public enum ProtocolLimits {
    public static let nameLength = 63
    public static let trustDomainLength = 255
    public static let spiffeIDLength = 2048
    public static let hostnameLength = 253
    public static let instanceIDLength = 128
    public static let labelsPerObject = 64
    public static let labelValueLength = 255
    public static let headerNameLength = 256
    public static let headerValueLength = 4096
    public static let pathLength = 2048
    public static let regexLength = 1024
    /// Instructions in one compiled regex program; bounds repetition blow-up (`(a{1000}){1000}`).
    public static let regexProgramSize = 10_000
    public static let regexRepeatCount = 1000
    /// Instructions in all the regexes of one route table together (about
    /// 400 KB compiled): per-pattern limits alone let a 300 KB table of
    /// `.{1000}` patterns compile to gigabytes.
    public static let regexProgramSizePerTable = 100_000
    /// Instructions in the regexes of all a registry's route tables (about 8 MB
    /// compiled, in every replica).
    public static let regexProgramSizePerRegistry = 2_000_000
    public static let versionRangeLength = 1024
    public static let versionLength = 256
    public static let routesPerTable = 1000
    public static let hostsPerMatch = 64
    public static let headerMatchesPerRoute = 32
    public static let queryMatchesPerRoute = 32
    public static let methodsPerMatch = 16
    public static let destinationsPerRoute = 32
    public static let headerRewritesPerRoute = 32
    public static let retryConditions = 16
    public static let descriptionLength = 512
    public static let upstreamsPerRequest = 256
    public static let endpointsPerService = 10_000
    public static let intentionsPerSnapshot = 10_000
    public static let rootsPerBundle = 16
    public static let revokedSerialsPerBundle = 100_000
    public static let pemLength = 16 * 1024
    public static let certificatesPerChain = 8
    public static let joinTokenLength = 256
}
