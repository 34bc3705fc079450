/// Mesh-wide settings that apply where nothing more specific does.
///
/// `default_action` is `deny` unless an operator sets it: a new service is
/// reachable only by callers an intention names (zero trust by default, where
/// Consul and Istio start open).
public struct MeshDefaults: Codable, Hashable, Sendable {
    public var defaultAction: IntentionAction
    /// The trust domain of every identity in this mesh (`weft.local` by default).
    public var trustDomain: String

    public static let `default` = MeshDefaults(uncheckedAction: .deny, trustDomain: "weft.local")

    public init(defaultAction: IntentionAction = .deny, trustDomain: String = "weft.local") throws(ProtocolError) {
        if let problem = SPIFFEID.trustDomainProblem(trustDomain) {
            throw ProtocolError(field: "trust_domain", "invalid trust domain: \(problem)")
        }
        self.defaultAction = defaultAction
        self.trustDomain = trustDomain
    }

    private init(uncheckedAction: IntentionAction, trustDomain: String) {
        self.defaultAction = uncheckedAction
        self.trustDomain = trustDomain
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["default_action", "trust_domain"])
        let action: IntentionAction = try object.optional("default_action", default: .deny)
        let trustDomain: String = try object.optional("trust_domain", default: Self.default.trustDomain)
        self = try object.validate { () throws(ProtocolError) in
            try MeshDefaults(defaultAction: action, trustDomain: trustDomain)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(defaultAction, "default_action")
        try object.encode(trustDomain, "trust_domain")
    }
}
