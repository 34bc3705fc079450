public import WeftProtocol

/// A stored configuration object together with the registry version that last
/// changed it. That version is the object's ETag: a write carrying
/// `If-Match: "<version>"` applies only if nobody changed the object since.
public struct Versioned<Value: Hashable & Sendable>: Hashable, Sendable {
    public var value: Value
    public var modifyVersion: UInt64

    public init(_ value: Value, modifyVersion: UInt64) {
        self.value = value
        self.modifyVersion = modifyVersion
    }
}

/// A registered instance with the bookkeeping around it. `instance.health` is the
/// effective health: `maintenance` when an operator drained it, `critical` when its
/// TTL ran out, otherwise what the instance last reported.
public struct InstanceRecord: Hashable, Sendable {
    public var instance: Instance
    public var reportedHealth: HealthState
    public var maintenance: Bool
    public var registeredAt: Timestamp
    public var expiresAt: Timestamp
    /// When the reaper found the TTL expired; the instance is removed a grace
    /// period later unless it heartbeats again.
    public var expiredAt: Timestamp?
    public var modifyVersion: UInt64

    public init(
        registered: Instance, reportedHealth: HealthState, maintenance: Bool, registeredAt: Timestamp,
        expiresAt: Timestamp, expiredAt: Timestamp?, modifyVersion: UInt64
    ) {
        var instance = registered
        instance.health = Self.effectiveHealth(
            reported: reportedHealth, maintenance: maintenance, expired: expiredAt != nil)
        self.instance = instance
        self.reportedHealth = reportedHealth
        self.maintenance = maintenance
        self.registeredAt = registeredAt
        self.expiresAt = expiresAt
        self.expiredAt = expiredAt
        self.modifyVersion = modifyVersion
    }

    static func effectiveHealth(reported: HealthState, maintenance: Bool, expired: Bool) -> HealthState {
        if maintenance { return .maintenance }
        if expired { return .critical }
        return reported
    }
}

/// An intention with its registry-assigned id.
public struct IntentionRecord: Hashable, Sendable {
    public var id: Int64
    public var intention: Intention
    public var modifyVersion: UInt64

    public init(id: Int64, intention: Intention, modifyVersion: UInt64) {
        self.id = id
        self.intention = intention
        self.modifyVersion = modifyVersion
    }

    /// Source, methods and path in one canonical string: two intentions with the
    /// same destination and key would match the same requests from the same callers.
    static func matchKey(_ intention: Intention) -> String {
        let methods = intention.methods.map(\.rawValue).sorted().joined(separator: ",")
        let path: String =
            switch intention.path {
            case nil: ""
            case .some(let match): (try? String(decoding: WeftJSON.encode(match), as: UTF8.self)) ?? ""
            }
        return "\(intention.source.description) \(methods) \(path)"
    }
}

/// One audit log entry: who changed what, when, from what to what.
public struct AuditEntry: Hashable, Sendable {
    public var id: Int64
    public var version: UInt64
    public var at: Timestamp
    public var actor: String
    public var action: String
    public var target: String
    /// The JSON before and after the change (nil for a creation or a deletion).
    public var old: String?
    public var new: String?
}

/// A configuration document stored as a whole: traffic policies, route tables and
/// the mesh defaults.
public enum RegistryDocument: Hashable, Sendable {
    case policy(TrafficPolicy)
    case serviceRoutes(ServiceReference, RouteTable)
    case gatewayRoutes(ServiceReference, RouteTable)
    case defaults(MeshDefaults)

    public var key: DocumentKey {
        switch self {
        case .policy(let policy): DocumentKey(.policy, policy.reference)
        case .serviceRoutes(let service, _): DocumentKey(.serviceRoutes, service)
        case .gatewayRoutes(let gateway, _): DocumentKey(.gatewayRoutes, gateway)
        case .defaults: .defaults
        }
    }

    func json() throws -> String {
        let data =
            switch self {
            case .policy(let policy): try WeftJSON.encode(policy)
            case .serviceRoutes(_, let table), .gatewayRoutes(_, let table): try WeftJSON.encode(table)
            case .defaults(let defaults): try WeftJSON.encode(defaults)
            }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Where a document is stored: its kind and the service (or gateway) it belongs to.
public struct DocumentKey: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case policy
        case serviceRoutes = "service-routes"
        case gatewayRoutes = "gateway-routes"
        case defaults
    }

    public var kind: Kind
    public var namespace: String
    public var name: String

    public init(_ kind: Kind, _ service: ServiceReference) {
        self.kind = kind
        self.namespace = service.namespace.rawValue
        self.name = service.service.rawValue
    }

    private init(kind: Kind) {
        self.kind = kind
        self.namespace = ""
        self.name = ""
    }

    public static let defaults = DocumentKey(kind: .defaults)

    public var description: String {
        kind == .defaults ? "defaults" : "\(kind.rawValue) \(namespace)/\(name)"
    }
}
