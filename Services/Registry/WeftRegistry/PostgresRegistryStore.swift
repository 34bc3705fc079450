public import WeftPostgres
public import WeftProtocol

/// The registry's state in PostgreSQL (schema: `RegistrySchema`).
///
/// Writes run in READ COMMITTED transactions that begin by locking the single
/// `registry_version` row: all writers, on every replica, are serialized there, so
/// versions commit in order and ETag checks see the latest committed state. A
/// write that changes something bumps the version, records an audit entry and
/// sends `NOTIFY weft_registry, '<version>'`, delivered at commit. Loads run in one
/// REPEATABLE READ snapshot, so a loaded state is exactly one version.
public final class PostgresRegistryStore: RegistryStore {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    // MARK: Reads

    public func currentVersion() async throws -> UInt64 {
        try await run {
            let rows = try await self.pool.query("SELECT version FROM registry_version")
            return UInt64(try rows[0].decode(0, as: Int64.self))
        }
    }

    public func loadState(reusing previous: RegistryState?) async throws -> RegistryState {
        try await run {
            try await self.pool.transaction(isolation: .repeatableRead) { connection in
                do {
                    return try Self.load(connection, reusing: previous)
                } catch is StalePrevious {
                    // The cached state is not an ancestor of what the database
                    // holds (a database restored or replaced): read it whole.
                    return try Self.load(connection, reusing: nil)
                }
            }
        }
    }

    static func load(_ connection: PostgresConnection, reusing previous: RegistryState?) throws -> RegistryState {
        let head = try connection.query(
            "SELECT version, extract(epoch FROM now())::bigint, tombstones_from FROM registry_version")[0]
        var state = RegistryState(
            version: UInt64(try head.decode(0, as: Int64.self)),
            loadedAt: Timestamp(secondsSinceEpoch: try head.decode(1, as: Int64.self)))
        let tombstonesFrom = UInt64(try head.decode(2, as: Int64.self))

        for row in try connection.query("SELECT namespace, name, protocol, modify_version FROM services") {
            let service = try Service(
                name: ServiceName(validating: row.decode(1)), namespace: NamespaceName(validating: row.decode(0)),
                protocol: enumValue(ServiceProtocol.self, row.decode(2)))
            state.services[service.reference] = Versioned(
                service, modifyVersion: UInt64(try row.decode(3, as: Int64.self)))
        }

        // Instances: with a previous state whose deletions are all still
        // tombstoned, only rows changed since it are read (every change of what a
        // proxy or an operator sees bumps `modify_version`; heartbeats that only
        // renew a TTL do not, so `expires_at` is as of the instance's last change).
        if let previous, previous.version + 1 >= tombstonesFrom {
            state.changes = .nothing
            state.instances = previous.instances
            let known = [String(previous.version)]
            var removed: [ServiceReference: Set<InstanceID>] = [:]
            var updated: [ServiceReference: [InstanceID: InstanceRecord]] = [:]
            for row in try connection.query(
                "SELECT namespace, service, id FROM instance_tombstones WHERE version > $1", known)
            {
                let service = ServiceReference(
                    service: try ServiceName(validating: row.decode(1)),
                    namespace: try NamespaceName(validating: row.decode(0)))
                removed[service, default: []].insert(try InstanceID(validating: row.decode(2)))
            }
            for record in try instanceRecords(connection, where: "modify_version > $1", known) {
                updated[record.instance.reference, default: [:]][record.instance.id] = record
            }
            // Each service that changed is rebuilt once, however many of its
            // instances changed (a batch of registrations lands as one version).
            for service in Set(removed.keys).union(updated.keys) {
                let gone = removed[service] ?? []
                let fresh = updated[service] ?? [:]
                var records = (state.instances[service] ?? []).filter {
                    !gone.contains($0.instance.id) && fresh[$0.instance.id] == nil
                }
                records.append(contentsOf: fresh.values)
                records.sort { $0.instance.id < $1.instance.id }
                state.instances[service] = records.isEmpty ? nil : records
                state.changes.services.insert(service)
            }
            for (reference, service) in state.services where previous.services[reference] != service {
                state.changes.services.insert(reference)
            }
            for reference in previous.services.keys where state.services[reference] == nil {
                state.changes.services.insert(reference)
            }
        } else {
            for record in try instanceRecords(connection, where: "true", []) {
                state.instances[record.instance.reference, default: []].append(record)
            }
        }

        // Documents: bodies are read and decoded only when they changed since
        // `previous` (a route table compiles its patterns when decoded; a change
        // to one instance must not recompile every table in the mesh).
        let documentsSince = previous.map { String($0.version) } ?? "-1"
        for row in try connection.query(
            """
            SELECT kind, namespace, name, CASE WHEN modify_version > $1 THEN body END, modify_version
            FROM documents
            """, [documentsSince])
        {
            let version = UInt64(try row.decode(4, as: Int64.self))
            let body: String? = try row.decodeIfPresent(3)
            let kind: String = try row.decode(0)
            if kind == DocumentKey.Kind.defaults.rawValue {
                state.defaults = try reused(previous?.defaults, version, body) { try decodeJSON(MeshDefaults.self, $0) }
                continue
            }
            let reference = ServiceReference(
                service: try ServiceName(validating: row.decode(2)),
                namespace: try NamespaceName(validating: row.decode(1)))
            if body != nil {
                switch DocumentKey.Kind(rawValue: kind) {
                case .policy:
                    state.changes.services.insert(reference)
                    state.changes.inbound.insert(reference)
                case .serviceRoutes: state.changes.services.insert(reference)
                case .gatewayRoutes: state.changes.gatewayRoutes.insert(reference)
                case .defaults, nil: break
                }
            }
            switch DocumentKey.Kind(rawValue: kind) {
            case .policy:
                state.policies[reference] = try reused(previous?.policies[reference], version, body) {
                    try decodeJSON(TrafficPolicy.self, $0)
                }
            case .serviceRoutes:
                state.serviceRoutes[reference] = try reused(previous?.serviceRoutes[reference], version, body) {
                    try decodeJSON(RouteTable.self, $0)
                }
            case .gatewayRoutes:
                state.gatewayRoutes[reference] = try reused(previous?.gatewayRoutes[reference], version, body) {
                    try decodeJSON(RouteTable.self, $0)
                }
            case .defaults, nil:
                throw PostgresError(.decodingFailed, message: "unknown document kind \(kind)")
            }
        }

        for row in try connection.query("SELECT id, body, modify_version FROM intentions ORDER BY id") {
            state.intentions.append(
                IntentionRecord(
                    id: try row.decode(0), intention: try decodeJSON(Intention.self, row.decode(1)),
                    modifyVersion: UInt64(try row.decode(2, as: Int64.self))))
        }
        if let previous, !state.changes.everything { noteRemovals(from: previous, into: &state) }
        return state
    }

    /// Adds to `state.changes` what the previous state held and this one no
    /// longer does (documents deleted), and intentions and defaults that moved.
    static func noteRemovals(from previous: RegistryState, into state: inout RegistryState) {
        for reference in previous.policies.keys where state.policies[reference] == nil {
            state.changes.services.insert(reference)
            state.changes.inbound.insert(reference)
        }
        for reference in previous.serviceRoutes.keys where state.serviceRoutes[reference] == nil {
            state.changes.services.insert(reference)
        }
        for reference in previous.gatewayRoutes.keys where state.gatewayRoutes[reference] == nil {
            state.changes.gatewayRoutes.insert(reference)
        }
        if previous.defaults != state.defaults { state.changes.defaults = true }
        if previous.intentions != state.intentions {
            let before = Set(previous.intentions)
            let after = Set(state.intentions)
            for record in before.symmetricDifference(after) {
                state.changes.inbound.insert(record.intention.destinationReference)
            }
        }
    }

    /// The previous state's copy of a document when it is still current, else
    /// `body` decoded (it is only read when the document changed).
    static func reused<Value: Hashable & Sendable>(
        _ previous: Versioned<Value>?, _ version: UInt64, _ body: String?, decode: (String) throws -> Value
    ) throws -> Versioned<Value> {
        if let body { return Versioned(try decode(body), modifyVersion: version) }
        guard let previous, previous.modifyVersion == version else { throw StalePrevious() }
        return previous
    }

    /// A document the previous state should hold but does not.
    struct StalePrevious: Error {}

    /// Instance rows matching `condition`, sorted by namespace, service and id.
    static func instanceRecords(_ connection: PostgresConnection, where condition: String, _ parameters: [String])
        throws -> [InstanceRecord]
    {
        try connection.query(
            """
            SELECT body, health, maintenance, extract(epoch FROM registered_at)::bigint,
                   extract(epoch FROM expires_at)::bigint, extract(epoch FROM expired_at)::bigint, modify_version
            FROM instances WHERE \(condition) ORDER BY namespace, service, id
            """, parameters
        ).map { row in
            InstanceRecord(
                registered: try decodeJSON(Instance.self, row.decode(0)),
                reportedHealth: try enumValue(HealthState.self, row.decode(1)),
                maintenance: try row.decode(2),
                registeredAt: Timestamp(secondsSinceEpoch: try row.decode(3)),
                expiresAt: Timestamp(secondsSinceEpoch: try row.decode(4)),
                expiredAt: try row.decodeIfPresent(5, as: Int64.self).map(Timestamp.init(secondsSinceEpoch:)),
                modifyVersion: UInt64(try row.decode(6, as: Int64.self)))
        }
    }

    static func enumValue<T: RawRepresentable<String>>(_ type: T.Type, _ text: String) throws -> T {
        guard let value = T(rawValue: text) else {
            throw PostgresError(.decodingFailed, message: "stored \(T.self) \"\(text)\" is unknown")
        }
        return value
    }

    /// Stored documents were validated when written; a newer registry may have
    /// added fields during a rolling upgrade, so unknown ones are ignored here.
    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        do {
            return try WeftJSON.decode(type, from: text, unknownFields: .ignore)
        } catch {
            throw PostgresError(.decodingFailed, message: "stored \(T.self) does not decode: \(error)")
        }
    }

    public func auditLog(after: Int64, limit: Int) async throws -> [AuditEntry] {
        try await run {
            try await self.pool.query(
                """
                SELECT id, version, extract(epoch FROM at)::bigint, actor, action, target, old, new
                FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2
                """, [String(after), String(limit)]
            ).map { row in
                AuditEntry(
                    id: try row.decode(0), version: UInt64(try row.decode(1, as: Int64.self)),
                    at: Timestamp(secondsSinceEpoch: try row.decode(2)), actor: try row.decode(3),
                    action: try row.decode(4), target: try row.decode(5), old: try row.decodeIfPresent(6),
                    new: try row.decodeIfPresent(7))
            }
        }
    }

    public func credentials(_ service: ServiceReference) async throws -> [CredentialInfo] {
        try await run {
            try await self.pool.query(
                """
                SELECT id, extract(epoch FROM created_at)::bigint FROM service_credentials
                WHERE namespace = $1 AND service = $2 ORDER BY id
                """, [service.namespace.rawValue, service.service.rawValue]
            ).map { row in
                CredentialInfo(id: try row.decode(0), createdAt: Timestamp(secondsSinceEpoch: try row.decode(1)))
            }
        }
    }

    public func credentialOwner(sha256: String) async throws -> ServiceReference? {
        try await run {
            let rows = try await self.pool.query(
                "SELECT namespace, service FROM service_credentials WHERE secret_sha256 = $1", [sha256])
            guard let row = rows.first else { return nil }
            return ServiceReference(
                service: try ServiceName(validating: row.decode(1)),
                namespace: try NamespaceName(validating: row.decode(0)))
        }
    }

    // MARK: Writes

    public func putService(_ service: Service, create: Bool, ifMatch: UInt64?, actor: String) async throws -> UInt64 {
        let key = [service.namespace.rawValue, service.name.rawValue]
        let json = try Self.json(service)
        return try await write { writer in
            let existing = try writer.connection.query(
                "SELECT protocol, modify_version FROM services WHERE namespace = $1 AND name = $2", key
            ).first
            if existing != nil && create {
                throw RegistryError(.conflict, "service \(service.reference) already exists")
            }
            try Self.check(
                ifMatch, against: existing.map { UInt64(try $0.decode(1, as: Int64.self)) }, service.reference)
            let oldProtocol: String? = try existing?.decode(0)
            if oldProtocol == service.protocolKind.rawValue { return }
            let version = try writer.bump()
            try writer.connection.query(
                """
                INSERT INTO services (namespace, name, protocol, modify_version) VALUES ($1, $2, $3, $4)
                ON CONFLICT (namespace, name) DO UPDATE SET protocol = $3, modify_version = $4
                """, key + [service.protocolKind.rawValue, String(version)])
            let old = try oldProtocol.map {
                try Self.json(
                    Service(
                        name: service.name, namespace: service.namespace,
                        protocol: ServiceProtocol(rawValue: $0) ?? .http))
            }
            try writer.audit(actor, existing == nil ? "create" : "update", "service \(service.reference)", old, json)
        }.version
    }

    public func deleteService(_ service: ServiceReference, ifMatch: UInt64?, actor: String) async throws -> UInt64 {
        let key = [service.namespace.rawValue, service.service.rawValue]
        return try await write { writer in
            guard
                let row = try writer.connection.query(
                    "SELECT protocol, modify_version FROM services WHERE namespace = $1 AND name = $2", key
                ).first
            else { throw RegistryError(.notFound, "service \(service) is not registered") }
            try Self.check(ifMatch, against: UInt64(try row.decode(1, as: Int64.self)), service)
            let count: Int64 = try writer.connection.query(
                "SELECT count(*) FROM instances WHERE namespace = $1 AND service = $2", key)[0].decode(0)
            guard count == 0 else {
                throw RegistryError(
                    .conflict, "service \(service) still has \(count) instance(s); deregister them first")
            }
            _ = try writer.bump()
            try writer.connection.query("DELETE FROM services WHERE namespace = $1 AND name = $2", key)
            let old = Service(
                name: service.service, namespace: service.namespace,
                protocol: try Self.enumValue(ServiceProtocol.self, row.decode(0)))
            try writer.audit(actor, "delete", "service \(service)", try Self.json(old), nil)
        }.version
    }

    public func registerInstances(_ registrations: [Registration]) async throws -> [Result<UInt64, RegistryError>] {
        guard !registrations.isEmpty else { return [] }
        let array: @Sendable ([String]) -> String = { PostgresArray.literal($0) }
        let bodies = try registrations.map { registration in
            var stored = registration.instance
            stored.health = .passing  // health lives in its own columns
            return try Self.json(stored)
        }
        let services = Array(Set(registrations.map(\.instance.reference)))
        let keys = Array(Set(registrations.map { Self.instanceKey($0.instance.reference, $0.instance.id) }))
        let keyParts = keys.map { $0.split(separator: "/", maxSplits: 2).map(String.init) }
        let (outcomes, version) = try await write { writer -> [RegistryError?] in
            // Two reads for the whole batch: which services exist, and the rows
            // the registrations replace.
            var known = Set<ServiceReference>()
            for row in try writer.connection.query(
                """
                SELECT s.namespace, s.name FROM services s
                JOIN unnest($1::text[], $2::text[]) AS t(namespace, name) USING (namespace, name)
                """, [array(services.map(\.namespace.rawValue)), array(services.map(\.service.rawValue))])
            {
                known.insert(
                    ServiceReference(
                        service: try ServiceName(validating: row.decode(1)),
                        namespace: try NamespaceName(validating: row.decode(0))))
            }
            var rows: [String: StoredInstanceRow] = [:]
            for row in try writer.connection.query(
                """
                SELECT i.namespace, i.service, i.id, i.body, i.health, i.maintenance, i.expired_at IS NOT NULL
                FROM instances i JOIN unnest($1::text[], $2::text[], $3::text[]) AS t(namespace, service, id)
                    USING (namespace, service, id)
                """, [array(keyParts.map { $0[0] }), array(keyParts.map { $0[1] }), array(keyParts.map { $0[2] })])
            {
                let key =
                    "\(try row.decode(0, as: String.self))/\(try row.decode(1, as: String.self))/\(try row.decode(2, as: String.self))"
                rows[key] = StoredInstanceRow(
                    body: try row.decode(3), health: try row.decode(4), maintenance: try row.decode(5),
                    expired: try row.decode(6))
            }
            // Each registration in submission order against the rows as the ones
            // before it left them: the same outcome as one transaction each.
            var outcomes: [RegistryError?] = []
            var written: [String: (registration: Registration, row: StoredInstanceRow)] = [:]
            var renewed = Set<String>()
            var audits: [(actor: String, action: String, target: String, old: String?, new: String?)] = []
            for (registration, body) in zip(registrations, bodies) {
                let instance = registration.instance
                let reference = instance.reference
                guard known.contains(reference) else {
                    outcomes.append(
                        RegistryError(
                            .notFound, "service \(reference) is not registered; create it before its instances"))
                    continue
                }
                outcomes.append(nil)
                let key = Self.instanceKey(reference, instance.id)
                let old = rows[key]
                let maintenance = instance.health == .maintenance || (old?.maintenance ?? false)
                let reported = instance.health == .maintenance ? (old?.health ?? "passing") : instance.health.rawValue
                let new = StoredInstanceRow(body: body, health: reported, maintenance: maintenance, expired: false)
                if let old, old == new {
                    // The same registration again (a sidecar restarting): renew the TTL only.
                    if written[key] == nil { renewed.insert(key) }
                    continue
                }
                rows[key] = new
                written[key] = (registration, new)
                renewed.remove(key)
                audits.append(
                    (
                        registration.actor, old == nil ? "register" : "update", "instance \(reference)/\(instance.id)",
                        old?.body, body
                    ))
            }
            if !renewed.isEmpty {
                let parts = renewed.sorted().map { $0.split(separator: "/", maxSplits: 2).map(String.init) }
                try writer.connection.query(
                    """
                    UPDATE instances i SET expires_at = now() + i.ttl_ms * interval '1 millisecond'
                    FROM unnest($1::text[], $2::text[], $3::text[]) AS t(namespace, service, id)
                    WHERE i.namespace = t.namespace AND i.service = t.service AND i.id = t.id
                    """, [array(parts.map { $0[0] }), array(parts.map { $0[1] }), array(parts.map { $0[2] })])
            }
            if !written.isEmpty {
                // One version for the batch: it commits as one, so versions stay in commit order.
                let version = try writer.bump()
                let changes = written.sorted { $0.key < $1.key }.map(\.value)
                try writer.connection.query(
                    """
                    INSERT INTO instances (namespace, service, id, body, health, maintenance, ttl_ms, expires_at, modify_version)
                    SELECT t.namespace, t.service, t.id, t.body, t.health, t.maintenance, t.ttl_ms,
                        now() + t.ttl_ms * interval '1 millisecond', $8
                    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::bigint[])
                        AS t(namespace, service, id, body, health, maintenance, ttl_ms)
                    ON CONFLICT (namespace, service, id) DO UPDATE SET body = excluded.body, health = excluded.health,
                        maintenance = excluded.maintenance, ttl_ms = excluded.ttl_ms, expires_at = excluded.expires_at,
                        expired_at = NULL, modify_version = excluded.modify_version
                    """,
                    [
                        array(changes.map(\.registration.instance.namespace.rawValue)),
                        array(changes.map(\.registration.instance.service.rawValue)),
                        array(changes.map(\.registration.instance.id.rawValue)), array(changes.map(\.row.body)),
                        array(changes.map(\.row.health)), array(changes.map { $0.row.maintenance ? "true" : "false" }),
                        array(changes.map { String($0.registration.instance.ttl.milliseconds) }), String(version),
                    ])
                try writer.auditRows(audits)
            }
            return outcomes
        }
        return outcomes.map { refusal in refusal.map { .failure($0) } ?? .success(version) }
    }

    public func deregisterInstance(_ service: ServiceReference, _ id: InstanceID, actor: String) async throws -> UInt64
    {
        let key = [service.namespace.rawValue, service.service.rawValue, id.rawValue]
        return try await write { writer in
            let removed = try writer.connection.query(
                "DELETE FROM instances WHERE namespace = $1 AND service = $2 AND id = $3 RETURNING body", key)
            guard let row = removed.first else {
                throw RegistryError(.notFound, "instance \(id) of \(service) is not registered")
            }
            let version = try writer.bump()
            try writer.connection.query(
                "INSERT INTO instance_tombstones (version, namespace, service, id) VALUES ($1, $2, $3, $4)",
                [String(version)] + key)
            try writer.audit(actor, "deregister", "instance \(service)/\(id)", try row.decode(0), nil)
        }.version
    }

    public func setMaintenance(_ service: ServiceReference, _ id: InstanceID, _ enabled: Bool, actor: String)
        async throws -> UInt64
    {
        let key = [service.namespace.rawValue, service.service.rawValue, id.rawValue]
        return try await write { writer in
            guard
                let row = try writer.connection.query(
                    "SELECT maintenance FROM instances WHERE namespace = $1 AND service = $2 AND id = $3", key
                ).first
            else { throw RegistryError(.notFound, "instance \(id) of \(service) is not registered") }
            let current: Bool = try row.decode(0)
            if current == enabled { return }
            let version = try writer.bump()
            try writer.connection.query(
                """
                UPDATE instances SET maintenance = $4, modify_version = $5
                WHERE namespace = $1 AND service = $2 AND id = $3
                """, key + [enabled ? "true" : "false", String(version)])
            try writer.audit(
                actor, enabled ? "maintenance-on" : "maintenance-off", "instance \(service)/\(id)",
                "{\"maintenance\":\(current)}", "{\"maintenance\":\(enabled)}")
        }.version
    }

    public func heartbeat(_ beats: [HeartbeatItem]) async throws -> [UInt64?] {
        guard !beats.isEmpty else { return [] }
        // Sorted and unique: one row per instance, the last beat's health winning.
        var latest: [String: HeartbeatItem] = [:]
        for beat in beats { latest[Self.instanceKey(beat.service, beat.id)] = beat }
        let unique = latest.sorted { $0.key < $1.key }.map(\.value)
        let array: @Sendable ([String]) -> String = { PostgresArray.literal($0) }
        let parameters = [
            array(unique.map(\.service.namespace.rawValue)), array(unique.map(\.service.service.rawValue)),
            array(unique.map(\.id.rawValue)), array(unique.map { $0.health?.rawValue ?? "" }),
        ]
        let (found, version) = try await write { writer -> Set<String> in
            // The old values come from the FROM list's snapshot, taken before the
            // update; the global lock held by `write` keeps them current.
            let rows = try writer.connection.query(
                """
                WITH input AS (
                    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(namespace, service, id, health)),
                old AS (
                    SELECT i.namespace, i.service, i.id, i.health AS old_health, i.expired_at IS NOT NULL AS was_expired
                    FROM instances i JOIN input USING (namespace, service, id))
                UPDATE instances i SET expires_at = now() + i.ttl_ms * interval '1 millisecond', expired_at = NULL,
                    health = CASE WHEN input.health = '' THEN i.health ELSE input.health END
                FROM input JOIN old USING (namespace, service, id)
                WHERE i.namespace = input.namespace AND i.service = input.service AND i.id = input.id
                RETURNING i.namespace, i.service, i.id, old.old_health, old.was_expired, i.health
                """, parameters)
            var found = Set<String>()
            var changed: [(namespace: String, service: String, id: String, from: String, to: String)] = []
            for row in rows {
                let namespace: String = try row.decode(0)
                let service: String = try row.decode(1)
                let id: String = try row.decode(2)
                found.insert("\(namespace)/\(service)/\(id)")
                let oldHealth: String = try row.decode(3)
                let wasExpired: Bool = try row.decode(4)
                let newHealth: String = try row.decode(5)
                if wasExpired || oldHealth != newHealth {
                    changed.append((namespace, service, id, wasExpired ? "expired" : oldHealth, newHealth))
                }
            }
            if changed.isEmpty {
                // Only TTLs moved: nothing a proxy sees. Such a batch does not wait
                // for its WAL flush; a crash can lose at most the last few hundred
                // milliseconds of renewals (instances then expire that much
                // earlier), never a change of health or membership.
                try writer.connection.query("SET LOCAL synchronous_commit TO off")
            } else {
                // A heartbeat that changes what discovery hands out (health, or back
                // from expiry) is a change like any other: versioned and audited.
                let version = try writer.bump()
                try writer.connection.query(
                    """
                    UPDATE instances i SET modify_version = $4
                    FROM unnest($1::text[], $2::text[], $3::text[]) AS t(namespace, service, id)
                    WHERE i.namespace = t.namespace AND i.service = t.service AND i.id = t.id
                    """,
                    [
                        array(changed.map(\.namespace)), array(changed.map(\.service)), array(changed.map(\.id)),
                        String(version),
                    ])
                try writer.auditMany(
                    "heartbeat", "health",
                    changed.map {
                        (
                            "instance \($0.namespace)/\($0.service)/\($0.id)", "{\"health\":\"\($0.from)\"}",
                            "{\"health\":\"\($0.to)\"}"
                        )
                    })
            }
            return found
        }
        return beats.map { found.contains(Self.instanceKey($0.service, $0.id)) ? version : nil }
    }

    public func reap(grace: Duration, actor: String) async throws -> (expired: Int, removed: Int) {
        let graceMilliseconds = String(grace.wholeMilliseconds)
        // Most ticks find nothing; look before taking the write lock.
        let pending = try await run {
            try await self.pool.query(
                """
                SELECT EXISTS (SELECT 1 FROM instances WHERE expired_at IS NULL AND expires_at < now())
                    OR EXISTS (SELECT 1 FROM instances WHERE expired_at < now() - $1::bigint * interval '1 millisecond')
                    OR EXISTS (SELECT 1 FROM instance_tombstones WHERE at < now() - interval '1 hour')
                """, [graceMilliseconds])
        }
        guard try pending[0].decode(0, as: Bool.self) else { return (0, 0) }
        let outcome = try await write { writer in
            // Tombstones only serve replicas less than an hour behind; older ones go,
            // and `tombstones_from` tells a replica further behind to reload whole.
            try writer.connection.query(
                """
                WITH pruned AS (
                    DELETE FROM instance_tombstones WHERE at < now() - interval '1 hour' RETURNING version)
                UPDATE registry_version
                SET tombstones_from = GREATEST(tombstones_from, (SELECT max(version) + 1 FROM pruned))
                WHERE EXISTS (SELECT 1 FROM pruned)
                """)
            let expired = try writer.connection.query(
                """
                UPDATE instances SET expired_at = now()
                WHERE expired_at IS NULL AND expires_at < now() RETURNING namespace, service, id
                """)
            let removed = try writer.connection.query(
                """
                DELETE FROM instances WHERE expired_at < now() - $1::bigint * interval '1 millisecond'
                RETURNING namespace, service, id, body
                """, [graceMilliseconds])
            if expired.isEmpty && removed.isEmpty { return (0, 0) }
            let version = try writer.bump()
            try writer.connection.query(
                "UPDATE instances SET modify_version = $1 WHERE expired_at = now()", [String(version)])
            if !removed.isEmpty {
                try writer.connection.query(
                    """
                    INSERT INTO instance_tombstones (version, namespace, service, id)
                    SELECT $1, t.namespace, t.service, t.id
                    FROM unnest($2::text[], $3::text[], $4::text[]) AS t(namespace, service, id)
                    """,
                    [
                        String(version), PostgresArray.literal(try removed.map { try $0.decode(0, as: String.self) }),
                        PostgresArray.literal(try removed.map { try $0.decode(1, as: String.self) }),
                        PostgresArray.literal(try removed.map { try $0.decode(2, as: String.self) }),
                    ])
            }
            func target(_ row: PostgresRow) throws -> String {
                "instance \(try row.decode(0, as: String.self))/\(try row.decode(1, as: String.self))/\(try row.decode(2, as: String.self))"
            }
            try writer.auditMany(
                actor, "expire",
                try expired.map { (try target($0), "{\"health\":\"live\"}", "{\"health\":\"critical\"}") })
            try writer.auditMany(actor, "remove", try removed.map { (try target($0), try $0.decode(3), nil) })
            return (expired.count, removed.count)
        }
        return outcome.result
    }

    public func putDocument(_ document: RegistryDocument, ifMatch: UInt64?, actor: String) async throws -> UInt64 {
        let key = document.key
        let body = try document.json()
        return try await write { writer in
            let existing = try writer.connection.query(
                "SELECT body, modify_version FROM documents WHERE kind = $1 AND namespace = $2 AND name = $3",
                [key.kind.rawValue, key.namespace, key.name]
            ).first
            try Self.check(ifMatch, against: existing.map { UInt64(try $0.decode(1, as: Int64.self)) }, key)
            let old: String? = try existing?.decode(0)
            if old == body { return }
            let version = try writer.bump()
            try writer.connection.query(
                """
                INSERT INTO documents (kind, namespace, name, body, modify_version) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (kind, namespace, name) DO UPDATE SET body = $4, modify_version = $5
                """, [key.kind.rawValue, key.namespace, key.name, body, String(version)])
            try writer.audit(actor, old == nil ? "create" : "update", key.description, old, body)
        }.version
    }

    public func deleteDocument(_ key: DocumentKey, ifMatch: UInt64?, actor: String) async throws -> UInt64 {
        try await write { writer in
            guard
                let existing = try writer.connection.query(
                    "SELECT body, modify_version FROM documents WHERE kind = $1 AND namespace = $2 AND name = $3",
                    [key.kind.rawValue, key.namespace, key.name]
                ).first
            else { throw RegistryError(.notFound, "no \(key) is stored") }
            try Self.check(ifMatch, against: UInt64(try existing.decode(1, as: Int64.self)), key)
            _ = try writer.bump()
            try writer.connection.query(
                "DELETE FROM documents WHERE kind = $1 AND namespace = $2 AND name = $3",
                [key.kind.rawValue, key.namespace, key.name])
            try writer.audit(actor, "delete", key.description, try existing.decode(0), nil)
        }.version
    }

    public func createIntention(_ intention: Intention, actor: String) async throws -> (id: Int64, version: UInt64) {
        let body = try Self.json(intention)
        let matchKey = IntentionRecord.matchKey(intention)
        let destination = [intention.namespace.rawValue, intention.destination.rawValue]
        let (id, version) = try await write { writer -> Int64 in
            if let clash = try writer.connection.query(
                "SELECT id FROM intentions WHERE namespace = $1 AND destination = $2 AND match_key = $3",
                destination + [matchKey]
            ).first {
                throw RegistryError(
                    .conflict,
                    "intention \(try clash.decode(0, as: Int64.self)) already covers the same source, methods and path for \(intention.destinationReference)"
                )
            }
            let version = try writer.bump()
            let id: Int64 = try writer.connection.query(
                """
                INSERT INTO intentions (namespace, destination, match_key, body, modify_version)
                VALUES ($1, $2, $3, $4, $5) RETURNING id
                """, destination + [matchKey, body, String(version)]
            )[0].decode(0)
            try writer.audit(actor, "create", "intention \(id)", nil, body)
            return id
        }
        return (id, version)
    }

    public func deleteIntention(id: Int64, ifMatch: UInt64?, actor: String) async throws -> UInt64 {
        try await write { writer in
            guard
                let row = try writer.connection.query(
                    "SELECT body, modify_version FROM intentions WHERE id = $1", [String(id)]
                ).first
            else { throw RegistryError(.notFound, "intention \(id) does not exist") }
            try Self.check(ifMatch, against: UInt64(try row.decode(1, as: Int64.self)), "intention \(id)")
            _ = try writer.bump()
            try writer.connection.query("DELETE FROM intentions WHERE id = $1", [String(id)])
            try writer.audit(actor, "delete", "intention \(id)", try row.decode(0), nil)
        }.version
    }

    public func addCredential(_ service: ServiceReference, sha256: String, actor: String) async throws -> (
        id: Int64, version: UInt64
    ) {
        let key = [service.namespace.rawValue, service.service.rawValue]
        let (id, version) = try await write { writer -> Int64 in
            guard
                try !writer.connection.query("SELECT 1 FROM services WHERE namespace = $1 AND name = $2", key)
                    .isEmpty
            else { throw RegistryError(.notFound, "service \(service) is not registered") }
            _ = try writer.bump()
            let id: Int64 = try writer.connection.query(
                "INSERT INTO service_credentials (namespace, service, secret_sha256) VALUES ($1, $2, $3) RETURNING id",
                key + [sha256]
            )[0].decode(0)
            try writer.audit(actor, "create", "credential \(id) of service \(service)", nil, nil)
            return id
        }
        return (id, version)
    }

    public func deleteCredential(_ service: ServiceReference, id: Int64, actor: String) async throws -> UInt64 {
        try await write { writer in
            guard
                try !writer.connection.query(
                    "DELETE FROM service_credentials WHERE id = $1 AND namespace = $2 AND service = $3 RETURNING id",
                    [String(id), service.namespace.rawValue, service.service.rawValue]
                ).isEmpty
            else { throw RegistryError(.notFound, "service \(service) has no credential \(id)") }
            _ = try writer.bump()
            try writer.audit(actor, "delete", "credential \(id) of service \(service)", nil, nil)
        }.version
    }

    // MARK: The write path

    /// What a write's body works with: its connection, and the version it takes
    /// when it changes something.
    struct Writer {
        let connection: PostgresConnection
        let current: UInt64
        private(set) var bumped: UInt64?

        init(connection: PostgresConnection, current: UInt64) {
            self.connection = connection
            self.current = current
        }

        /// The new version for this write (taken once, however often asked).
        mutating func bump() throws -> UInt64 {
            if let bumped { return bumped }
            let next = UInt64(
                try connection.query("UPDATE registry_version SET version = version + 1 RETURNING version")[0]
                    .decode(0, as: Int64.self))
            bumped = next
            return next
        }

        mutating func audit(_ actor: String, _ action: String, _ target: String, _ old: String?, _ new: String?)
            throws
        {
            try auditMany(actor, action, [(target, old, new)])
        }

        mutating func auditMany(_ actor: String, _ action: String, _ entries: [(String, String?, String?)]) throws {
            try auditRows(entries.map { (actor, action, $0.0, $0.1, $0.2) })
        }

        mutating func auditRows(
            _ entries: [(actor: String, action: String, target: String, old: String?, new: String?)]
        ) throws {
            guard !entries.isEmpty else { return }
            let version = try bump()
            // NULL elements travel as the unquoted NULL of an array literal.
            try connection.query(
                """
                INSERT INTO audit_log (version, actor, action, target, old, new)
                SELECT $1, t.actor, t.action, t.target, t.old, t.new
                FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(actor, action, target, old, new)
                """,
                [
                    String(version), PostgresArray.literal(entries.map(\.actor)),
                    PostgresArray.literal(entries.map(\.action)), PostgresArray.literal(entries.map(\.target)),
                    PostgresArray.literal(entries.map(\.old)), PostgresArray.literal(entries.map(\.new)),
                ])
        }
    }

    /// Runs `body` as one write: lock the version row, apply, notify at commit.
    /// Returns `body`'s result and the version after the write.
    func write<T: Sendable>(_ body: @escaping @Sendable (inout Writer) throws -> T) async throws -> (
        result: T, version: UInt64
    ) {
        try await run {
            try await self.pool.transaction(isolation: .readCommitted) { connection in
                let current = UInt64(
                    try connection.query("SELECT version FROM registry_version FOR UPDATE")[0].decode(
                        0, as: Int64.self))
                var writer = Writer(connection: connection, current: current)
                let result = try body(&writer)
                if let bumped = writer.bumped {
                    try connection.query(
                        "SELECT pg_notify($1, $2)", [RegistrySchema.channel, String(bumped)])
                }
                return (result, writer.bumped ?? current)
            }
        }
    }

    /// Maps the database being away to `RegistryError.unavailable` (503 +
    /// Retry-After); everything else passes through.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError where error.isUnavailable || error.kind == .shutDown {
            throw RegistryError(
                .unavailable, "the registry cannot reach its database; try again shortly", cause: error.description)
        }
    }

    static func check(_ ifMatch: UInt64?, against stored: UInt64?, _ what: some CustomStringConvertible) throws {
        guard let ifMatch else { return }
        guard let stored else {
            throw RegistryError(.preconditionFailed, "If-Match names version \(ifMatch) but \(what) does not exist")
        }
        guard stored == ifMatch else {
            throw RegistryError(
                .preconditionFailed, "\(what) was changed at version \(stored); If-Match named \(ifMatch)")
        }
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try WeftJSON.encode(value), as: UTF8.self)
    }

    /// An instance's row as a registration compares it.
    struct StoredInstanceRow: Equatable {
        var body: String
        var health: String
        var maintenance: Bool
        var expired: Bool
    }

    static func instanceKey(_ service: ServiceReference, _ id: InstanceID) -> String {
        "\(service.namespace.rawValue)/\(service.service.rawValue)/\(id.rawValue)"
    }
}
