/// How a route matches one header or query parameter value.
///
/// - `exact`, `prefix`: byte comparisons.
/// - `regex`: a `SafeRegex` against the whole value.
/// - `present` / `absent`: whether the field is there at all, whatever its value.
/// - `version`: the value parsed as a semantic version (a leading `v` allowed) lies
///   in a `VersionRange`; a value that is not a version does not match.
///
/// Headers that occur several times are matched on their values joined with
/// `,` (RFC 9110, section 5.3); that joining is the proxy's job.
public enum ValueMatch: Hashable, Sendable {
    case exact(String)
    case prefix(String)
    case regex(SafeRegex)
    case present
    case absent
    case version(VersionRange)

    /// `value` is nil when the field is missing.
    public func matches(_ value: Substring?) -> Bool {
        switch self {
        case .absent: return value == nil
        case .present: return value != nil
        case .exact(let expected): return value.map { $0 == expected } ?? false
        case .prefix(let prefix): return value?.hasPrefix(prefix) ?? false
        case .regex(let regex): return value.map { regex.matches($0) } ?? false
        case .version(let range):
            guard let value, let version = SemanticVersion(parsingHeaderValue: value) else { return false }
            return range.contains(version)
        }
    }

    static let fields = ["exact", "prefix", "regex", "present", "absent", "version"]

    /// Reads the one matcher member of an object that also holds `name`.
    init(from object: JSONObject, allowed: [String]) throws {
        let given = allowed.filter(object.contains)
        guard given.count == 1 else {
            throw ProtocolError(FieldPath(object.codingPath), "give exactly one of \(allowed.joined(separator: ", "))")
        }
        switch given[0] {
        case "exact":
            let value: String = try object.required("exact")
            try Self.checkValue(value, object: object, field: "exact")
            self = .exact(value)
        case "prefix":
            let value: String = try object.required("prefix")
            guard !value.isEmpty else {
                throw object.error("prefix", "must not be empty; use present to match any value")
            }
            try Self.checkValue(value, object: object, field: "prefix")
            self = .prefix(value)
        case "regex":
            self = .regex(try object.required("regex"))
        case "present":
            guard try object.required("present", as: Bool.self) else {
                throw object.error("present", "must be true; to require a missing field use absent: true")
            }
            self = .present
        case "absent":
            guard try object.required("absent", as: Bool.self) else {
                throw object.error("absent", "must be true; to require the field use present: true")
            }
            self = .absent
        default:
            self = .version(try object.required("version"))
        }
    }

    func encode(into object: inout KeyedEncodingContainer<AnyKey>) throws {
        switch self {
        case .exact(let value): try object.encode(value, "exact")
        case .prefix(let value): try object.encode(value, "prefix")
        case .regex(let regex): try object.encode(regex, "regex")
        case .present: try object.encode(true, "present")
        case .absent: try object.encode(true, "absent")
        case .version(let range): try object.encode(range, "version")
        }
    }

    private static func checkValue(_ value: String, object: JSONObject, field: String) throws(ProtocolError) {
        guard value.utf8.count <= ProtocolLimits.headerValueLength else {
            throw object.error(field, "longer than \(ProtocolLimits.headerValueLength) bytes")
        }
        // RFC 9110 field values: visible ASCII, spaces and tabs, obs-text; never
        // control characters, which no request could carry.
        guard value.utf8.allSatisfy({ $0 == 0x09 || $0 >= 0x20 && $0 != 0x7F }) else {
            throw object.error(field, "must not hold control characters")
        }
    }
}
