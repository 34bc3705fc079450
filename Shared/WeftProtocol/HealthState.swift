/// An instance's health as the registry sees it. Only `passing` and `warning`
/// instances appear in endpoint sets; `critical` ones (TTL expired, check failed)
/// and `maintenance` ones (drained by an operator) are withheld.
public enum HealthState: String, Codable, CaseIterable, Sendable {
    case passing, warning, critical, maintenance

    public var receivesTraffic: Bool { self == .passing || self == .warning }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = HealthState(rawValue: text) else {
            throw ProtocolError(
                FieldPath(decoder.codingPath),
                "unknown health state \"\(text.prefix(40))\"; expected one of passing, warning, critical, maintenance")
        }
        self = value
    }
}
