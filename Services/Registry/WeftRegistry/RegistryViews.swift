import WeftProtocol

/// How the admin API shows stored objects: the protocol object's own members,
/// plus read-only bookkeeping members (the protocol types refuse unknown fields
/// on input, so these never round-trip by accident).

struct InstanceView: Encodable {
    var record: InstanceRecord

    func encode(to encoder: any Encoder) throws {
        try record.instance.encode(to: encoder)
        var extra = encoder.container(keyedBy: ExtraKey.self)
        try extra.encode(record.maintenance, forKey: ExtraKey("maintenance"))
        try extra.encode(record.reportedHealth, forKey: ExtraKey("reported_health"))
        try extra.encode(record.registeredAt, forKey: ExtraKey("registered_at"))
        try extra.encode(record.expiresAt, forKey: ExtraKey("expires_at"))
        try extra.encodeIfPresent(record.expiredAt, forKey: ExtraKey("expired_at"))
        try extra.encode(record.modifyVersion, forKey: ExtraKey("modify_version"))
    }
}

struct IntentionView: Encodable {
    var record: IntentionRecord

    func encode(to encoder: any Encoder) throws {
        try record.intention.encode(to: encoder)
        var extra = encoder.container(keyedBy: ExtraKey.self)
        try extra.encode(record.id, forKey: ExtraKey("id"))
        try extra.encode(record.modifyVersion, forKey: ExtraKey("modify_version"))
    }
}

/// A stored route table with the service or gateway it belongs to.
struct RouteTableView: Encodable {
    var owner: ServiceReference
    var table: Versioned<RouteTable>

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ExtraKey.self)
        try container.encode(owner.service, forKey: ExtraKey("name"))
        try container.encode(owner.namespace, forKey: ExtraKey("namespace"))
        try container.encode(table.value.routes, forKey: ExtraKey("routes"))
        try container.encode(table.modifyVersion, forKey: ExtraKey("modify_version"))
    }
}

struct AuditView: Encodable {
    var entry: AuditEntry

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ExtraKey.self)
        try container.encode(entry.id, forKey: ExtraKey("id"))
        try container.encode(entry.version, forKey: ExtraKey("version"))
        try container.encode(entry.at, forKey: ExtraKey("at"))
        try container.encode(entry.actor, forKey: ExtraKey("actor"))
        try container.encode(entry.action, forKey: ExtraKey("action"))
        try container.encode(entry.target, forKey: ExtraKey("target"))
        try container.encodeIfPresent(entry.old, forKey: ExtraKey("old"))
        try container.encodeIfPresent(entry.new, forKey: ExtraKey("new"))
    }
}

struct CredentialView: Encodable {
    var service: ServiceReference
    var id: Int64
    var createdAt: Timestamp?
    /// Present only in the answer that created it.
    var secret: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ExtraKey.self)
        try container.encode(id, forKey: ExtraKey("id"))
        try container.encode(service, forKey: ExtraKey("service"))
        try container.encodeIfPresent(createdAt, forKey: ExtraKey("created_at"))
        try container.encodeIfPresent(secret, forKey: ExtraKey("secret"))
    }
}

struct VersionView: Encodable {
    var version: UInt64
}

struct ExtraKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
