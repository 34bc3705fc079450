public import WeftProtocol

/// Where the registry keeps its state. The admin API, discovery and the reaper
/// depend on this protocol, not on PostgreSQL, so their logic can be tested
/// against any implementation; `PostgresRegistryStore` is the production one.
///
/// Every change runs under one lock, bumps the monotonic version when it alters
/// what is stored (a write that changes nothing returns the current version
/// without bumping it), and is recorded in the audit log with its actor.
/// `ifMatch` is the ETag check: the write applies only if the object's
/// `modifyVersion` is that value.
public protocol RegistryStore: Sendable {
    /// Everything, at one consistent version. Instances unchanged since
    /// `previous` are taken from it rather than decoded again (a change to one
    /// instance among thousands costs one decode, not thousands).
    func loadState(reusing previous: RegistryState?) async throws -> RegistryState
    func currentVersion() async throws -> UInt64

    /// Creates (`create: true`, failing if it exists) or creates-or-updates a service.
    func putService(_ service: Service, create: Bool, ifMatch: UInt64?, actor: String) async throws -> UInt64
    /// Removes a service; refused while it has instances.
    func deleteService(_ service: ServiceReference, ifMatch: UInt64?, actor: String) async throws -> UInt64

    /// Registers or re-registers instances of existing services and starts their
    /// TTLs, many at once (group commit): one transaction, one version for every
    /// change in it. The outcome for each registration, in order, is the version
    /// after the batch or why that one was refused (its service is not
    /// registered); the others in the batch are not affected by a refusal.
    func registerInstances(_ registrations: [Registration]) async throws -> [Result<UInt64, RegistryError>]
    func deregisterInstance(_ service: ServiceReference, _ id: InstanceID, actor: String) async throws -> UInt64
    func setMaintenance(_ service: ServiceReference, _ id: InstanceID, _ enabled: Bool, actor: String) async throws
        -> UInt64
    /// Renews the TTL of many instances at once (group commit); the result for
    /// each beat, in order, is the version after the batch or nil for an instance
    /// that is not registered.
    func heartbeat(_ beats: [HeartbeatItem]) async throws -> [UInt64?]

    /// Marks instances whose TTL ran out as expired, and removes those expired
    /// longer than `grace`. Returns how many of each.
    func reap(grace: Duration, actor: String) async throws -> (expired: Int, removed: Int)

    func putDocument(_ document: RegistryDocument, ifMatch: UInt64?, actor: String) async throws -> UInt64
    func deleteDocument(_ key: DocumentKey, ifMatch: UInt64?, actor: String) async throws -> UInt64

    /// Adds an intention; refused if one with the same destination, source,
    /// methods and path exists.
    func createIntention(_ intention: Intention, actor: String) async throws -> (id: Int64, version: UInt64)
    func deleteIntention(id: Int64, ifMatch: UInt64?, actor: String) async throws -> UInt64

    /// Stores the digest of a new per-service credential; returns its id.
    func addCredential(_ service: ServiceReference, sha256: String, actor: String) async throws -> (
        id: Int64, version: UInt64
    )
    func deleteCredential(_ service: ServiceReference, id: Int64, actor: String) async throws -> UInt64
    func credentials(_ service: ServiceReference) async throws -> [CredentialInfo]
    /// The service a credential digest belongs to, if any.
    func credentialOwner(sha256: String) async throws -> ServiceReference?

    /// Audit entries with an id above `after`, oldest first.
    func auditLog(after: Int64, limit: Int) async throws -> [AuditEntry]
}

extension RegistryStore {
    /// Registers or re-registers one instance (a batch of one).
    public func registerInstance(_ instance: Instance, actor: String) async throws -> UInt64 {
        try await registerInstances([Registration(instance: instance, actor: actor)])[0].get()
    }
}

/// One registration in a batch, with who asked for it (for the audit log).
public struct Registration: Sendable {
    public var instance: Instance
    public var actor: String

    public init(instance: Instance, actor: String) {
        self.instance = instance
        self.actor = actor
    }
}

/// One heartbeat in a batch.
public struct HeartbeatItem: Hashable, Sendable {
    public var service: ServiceReference
    public var id: InstanceID
    public var health: HealthState?

    public init(service: ServiceReference, id: InstanceID, health: HealthState?) {
        self.service = service
        self.id = id
        self.health = health
    }
}

/// A per-service credential as listed (the secret itself is never stored).
public struct CredentialInfo: Hashable, Sendable {
    public var id: Int64
    public var createdAt: Timestamp
}
