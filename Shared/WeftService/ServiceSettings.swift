public import Logging
public import WeftProtocol

/// How every Weft service reads a setting: the flag when given, else the
/// `WEFT_*` environment variable, an empty variable counting as unset (compose
/// files often pass `${VAR:-}`). Bad values are refused with a message naming
/// the flag; the executables turn it into a usage error (exit 64).
public struct ServiceSettings: Sendable {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment.filter { !$0.value.isEmpty }
    }

    public func value(_ flag: String?, _ variable: String) -> String? {
        flag ?? environment[variable]
    }

    public func logLevel(_ flag: String?) throws(Invalid) -> Logger.Level {
        let text = value(flag, "WEFT_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: text) else {
            throw Invalid(
                description:
                    "--log-level: unknown level \(text); expected trace, debug, info, notice, warning, error or critical"
            )
        }
        return level
    }

    public func listen(_ flag: String?, default fallback: String) throws(Invalid) -> ListenAddress {
        do {
            return try ListenAddress(validating: value(flag, "WEFT_LISTEN") ?? fallback)
        } catch {
            throw Invalid(description: "--listen: \(error.reason)")
        }
    }

    /// A whole number in `range`, from the flag or `variable`; nil when neither is set.
    public func integer(_ flag: Int?, _ variable: String, _ name: String, _ range: ClosedRange<Int>) throws(Invalid)
        -> Int?
    {
        guard let text = value(flag.map(String.init), variable) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw Invalid(
                description:
                    "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound); got \(text)")
        }
        return number
    }

    /// A duration such as `90s`, `15m` or `24h` in `range`; nil when neither is set.
    public func duration(_ flag: String?, _ variable: String, _ name: String, _ range: ClosedRange<WeftDuration>)
        throws(Invalid) -> WeftDuration?
    {
        guard let text = value(flag, variable) else { return nil }
        let duration: WeftDuration
        do {
            duration = try WeftDuration(validating: text)
        } catch {
            throw Invalid(description: "\(name): \(error.reason)")
        }
        guard range.contains(duration) else {
            throw Invalid(description: "\(name) must be from \(range.lowerBound) to \(range.upperBound); got \(text)")
        }
        return duration
    }

    /// Logs to standard error at `level`, once per process.
    public static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
