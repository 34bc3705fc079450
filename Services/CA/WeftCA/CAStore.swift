public import WeftPostgres
public import WeftProtocol

/// The CA's state in PostgreSQL (schema: `CASchema`).
///
/// Writes that change the trust bundle (roots, revocations) lock the `ca_state`
/// row first, bump the bundle version and notify `weft_ca` at commit, so the
/// version and the contents move together on every replica. Join tokens are
/// consumed by a conditional update in the same transaction that records the
/// certificate, so a token with one use left signs exactly one certificate
/// however many workloads race for it, and a failed signing burns no use.
public final class CAStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    // MARK: Snapshot

    public func load() async throws -> CASnapshot {
        try await run {
            try await self.pool.transaction(isolation: .repeatableRead) { connection in
                let version = try connection.query("SELECT bundle_version FROM ca_state")[0].decode(0, as: Int64.self)
                let roots = try Self.roots(connection)
                let revoked = try connection.query(
                    "SELECT serial FROM ca_certificates WHERE revoked_at IS NOT NULL AND not_after > now()"
                ).map { try $0.decode(0, as: String.self) }
                return CASnapshot(bundleVersion: UInt64(version), roots: roots, revokedSerials: Set(revoked))
            }
        }
    }

    static func roots(_ connection: PostgresConnection) throws -> [RootRecord] {
        try connection.query(
            """
            SELECT generation, state, anchor, authority, extract(epoch FROM created_at)::bigint,
                   extract(epoch FROM activated_at)::bigint, extract(epoch FROM retired_at)::bigint
            FROM ca_roots ORDER BY generation
            """
        ).map { row in
            guard let state = RootState(rawValue: try row.decode(1)) else {
                throw PostgresError(.decodingFailed, message: "unknown root state \(row[1] ?? "")")
            }
            return RootRecord(
                generation: try row.decode(0), state: state, anchorPEM: try row.decode(2),
                authorityPEM: try row.decode(3), createdAt: Timestamp(secondsSinceEpoch: try row.decode(4)),
                activatedAt: try row.decodeIfPresent(5, as: Int64.self).map(Timestamp.init(secondsSinceEpoch:)),
                retiredAt: try row.decodeIfPresent(6, as: Int64.self).map(Timestamp.init(secondsSinceEpoch:)))
        }
    }

    // MARK: Roots

    /// Records the generations found on disk that the database does not know yet
    /// (the first becomes active when none is), and refuses a data directory
    /// whose authorities differ from what the database recorded for the same
    /// generation: a lost or swapped key directory must not silently start a new
    /// chain of trust.
    public func adopt(_ authorities: [Authority]) async throws {
        let found = try authorities.map {
            (generation: $0.generation, anchor: try $0.anchor.pemString(), authority: try $0.certificate.pemString())
        }
        try await run {
            try await self.pool.transaction(isolation: .readCommitted) { connection in
                try Self.lockState(connection)
                let known = Dictionary(
                    uniqueKeysWithValues: try Self.roots(connection).map { ($0.generation, $0) })
                var changed = false
                var hasActive = known.values.contains { $0.state == .active }
                for authority in found {
                    if let record = known[authority.generation] {
                        guard record.authorityPEM == authority.authority else {
                            throw CAError(
                                .authorityUnusable,
                                "authority \(authority.generation) in the data directory is not the one the database recorded; restore the data directory that belongs to this database"
                            )
                        }
                        continue
                    }
                    let state: RootState = hasActive ? .published : .active
                    try connection.query(
                        """
                        INSERT INTO ca_roots (generation, anchor, authority, state, activated_at)
                        VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'active' THEN now() END)
                        """, [String(authority.generation), authority.anchor, authority.authority, state.rawValue])
                    hasActive = hasActive || state == .active
                    changed = true
                }
                if changed { try Self.bump(connection) }
            }
        }
    }

    /// Makes `generation` the signing authority; the previous one stays
    /// trusted (published). Refused until the generation has been in the bundle
    /// for `propagation`, so proxies trust it before they meet leaves it signed.
    public func activate(_ generation: Int, propagation: Duration) async throws -> UInt64 {
        try await run {
            try await self.pool.transaction(isolation: .readCommitted) { connection in
                try Self.lockState(connection)
                let rows = try connection.query(
                    "SELECT state, extract(epoch FROM now() - created_at)::bigint FROM ca_roots WHERE generation = $1",
                    [String(generation)])
                guard let row = rows.first else { throw CAError(.notFound, "no root generation \(generation)") }
                let state = try row.decode(0, as: String.self)
                if state == RootState.active.rawValue { return try Self.version(connection) }
                guard state == RootState.published.rawValue else {
                    throw CAError(.conflict, "root generation \(generation) is retired; introduce a new one")
                }
                let age = try row.decode(1, as: Int64.self)
                let wait = propagation.components.seconds
                guard age >= wait else {
                    throw CAError(
                        .conflict,
                        "root generation \(generation) has been in the trust bundle for \(age) s; proxies may not trust it yet. Activate it after \(wait) s (in \(wait - age) s)"
                    )
                }
                try connection.query("UPDATE ca_roots SET state = 'published' WHERE state = 'active'")
                try connection.query(
                    "UPDATE ca_roots SET state = 'active', activated_at = now() WHERE generation = $1",
                    [String(generation)])
                return try Self.bump(connection)
            }
        }
    }

    /// Takes `generation` out of the trust bundle. Refused while it signs, and
    /// while any certificate it signed is still valid and not revoked (retiring
    /// then would break those workloads' handshakes).
    public func retire(_ generation: Int) async throws -> UInt64 {
        try await run {
            try await self.pool.transaction(isolation: .readCommitted) { connection in
                try Self.lockState(connection)
                let rows = try connection.query(
                    "SELECT state FROM ca_roots WHERE generation = $1", [String(generation)])
                guard let row = rows.first else { throw CAError(.notFound, "no root generation \(generation)") }
                switch try row.decode(0, as: String.self) {
                case RootState.retired.rawValue: return try Self.version(connection)
                case RootState.active.rawValue:
                    throw CAError(
                        .conflict, "root generation \(generation) is the active one; activate another first")
                default: break
                }
                let live = try connection.query(
                    """
                    SELECT count(*), to_char(max(not_after) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                    FROM ca_certificates
                    WHERE issuer_generation = $1 AND not_after > now() AND revoked_at IS NULL
                    """, [String(generation)])[0]
                let count = try live.decode(0, as: Int.self)
                guard count == 0 else {
                    throw CAError(
                        .conflict,
                        "\(count) certificates signed by root generation \(generation) are still valid (the last expires at \(live[1] ?? "?")); retire it after that, or revoke them"
                    )
                }
                try connection.query(
                    "UPDATE ca_roots SET state = 'retired', retired_at = now() WHERE generation = $1",
                    [String(generation)])
                return try Self.bump(connection)
            }
        }
    }

    // MARK: Join tokens

    public struct StoredToken: Sendable {
        public var token: JoinToken
        /// Whether the database's clock says it has expired.
        public var expired: Bool
    }

    public func createToken(id: String, sha256: String, request: JoinTokenRequest) async throws -> JoinToken {
        try await run {
            let rows = try await self.pool.query(
                """
                INSERT INTO ca_join_tokens (id, sha256, identity, expires_at, max_uses)
                VALUES ($1, $2, $3, now() + make_interval(secs => $4::bigint), $5)
                RETURNING \(Self.tokenColumns)
                """,
                [
                    id, sha256, request.identity.description, String(request.ttl.milliseconds / 1000),
                    String(request.maximumUses),
                ])
            return try Self.token(rows[0]).token
        }
    }

    static let tokenColumns = """
        id, identity, extract(epoch FROM created_at)::bigint, extract(epoch FROM expires_at)::bigint, max_uses, uses,
        extract(epoch FROM revoked_at)::bigint, expires_at <= now()
        """

    static func token(_ row: PostgresRow) throws -> StoredToken {
        let token = try JoinToken(
            id: try row.decode(0), identity: try SPIFFEID(validating: try row.decode(1)),
            createdAt: Timestamp(secondsSinceEpoch: try row.decode(2)),
            expiresAt: Timestamp(secondsSinceEpoch: try row.decode(3)), maximumUses: try row.decode(4),
            uses: try row.decode(5),
            revokedAt: try row.decodeIfPresent(6, as: Int64.self).map(Timestamp.init(secondsSinceEpoch:)))
        return StoredToken(token: token, expired: try row.decode(7, as: Bool.self))
    }

    /// Tokens ordered by id, `limit` after the cursor `after`.
    public func tokens(after: String?, limit: Int) async throws -> [JoinToken] {
        try await run {
            try await self.pool.query(
                "SELECT \(Self.tokenColumns) FROM ca_join_tokens WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2",
                [after, String(limit)]
            ).map { try Self.token($0).token }
        }
    }

    public func token(id: String) async throws -> JoinToken? {
        try await run {
            try await self.pool.query("SELECT \(Self.tokenColumns) FROM ca_join_tokens WHERE id = $1", [id]).first.map {
                try Self.token($0).token
            }
        }
    }

    public func token(sha256: String) async throws -> StoredToken? {
        try await run {
            try await self.pool.query("SELECT \(Self.tokenColumns) FROM ca_join_tokens WHERE sha256 = $1", [sha256])
                .first.map { try Self.token($0) }
        }
    }

    /// Revokes a token (kept listed, with its revocation time). Idempotent.
    public func revokeToken(id: String) async throws -> JoinToken {
        try await run {
            let rows = try await self.pool.query(
                """
                UPDATE ca_join_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
                RETURNING \(Self.tokenColumns)
                """, [id])
            guard let row = rows.first else { throw CAError(.notFound, "no join token \(id)") }
            return try Self.token(row).token
        }
    }

    /// Uses one of the token's uses and records `entry`, in one transaction. The
    /// use is taken only if the token is still unrevoked, unexpired and not used
    /// up at that moment; otherwise nothing is recorded and the reason is thrown.
    public func recordWithToken(sha256: String, _ entry: LedgerEntry) async throws {
        try await run {
            try await self.pool.transaction(isolation: .readCommitted) { connection in
                let used = try connection.query(
                    """
                    UPDATE ca_join_tokens SET uses = uses + 1
                    WHERE sha256 = $1 AND revoked_at IS NULL AND expires_at > now() AND uses < max_uses
                    RETURNING id
                    """, [sha256])
                guard let row = used.first else {
                    let current = try connection.query(
                        "SELECT \(Self.tokenColumns) FROM ca_join_tokens WHERE sha256 = $1", [sha256]
                    ).first.map(Self.token)
                    throw Self.tokenRefusal(current)
                }
                var entry = entry
                entry.joinTokenID = try row.decode(0, as: String.self)
                try Self.insert(connection, [entry])
            }
        }
    }

    /// Why a token cannot be used (nil: it is unknown).
    static func tokenRefusal(_ stored: StoredToken?) -> CAError {
        guard let stored else { return CAError(.tokenRejected, "the join token is not known to this CA") }
        let token = stored.token
        if let revoked = token.revokedAt {
            return CAError(.tokenRejected, "join token \(token.id) was revoked at \(revoked)")
        }
        if stored.expired {
            return CAError(.tokenRejected, "join token \(token.id) expired at \(token.expiresAt)")
        }
        if token.uses >= token.maximumUses {
            return CAError(
                .tokenRejected, "join token \(token.id) is used up (\(token.uses) of \(token.maximumUses) uses)")
        }
        return CAError(.tokenRejected, "join token \(token.id) cannot be used")
    }

    // MARK: Ledger

    /// Records issued certificates in one transaction (the renewal batcher's
    /// group commit).
    public func record(_ entries: [LedgerEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await run {
            try await self.pool.transaction(isolation: .readCommitted) { connection in
                try Self.insert(connection, entries)
            }
        }
    }

    static func insert(_ connection: PostgresConnection, _ entries: [LedgerEntry]) throws {
        try connection.query(
            """
            INSERT INTO ca_certificates
                (serial, identity, not_before, not_after, issuer_generation, via, join_token_id, renewed_serial)
            SELECT s, i, to_timestamp(nb), to_timestamp(na), g, v, t, r
            FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::integer[], $6::text[], $7::text[],
                        $8::text[]) AS u(s, i, nb, na, g, v, t, r)
            """,
            [
                PostgresArray.literal(entries.map(\.serial.hex)),
                PostgresArray.literal(entries.map(\.identity.description)),
                PostgresArray.literal(entries.map { String($0.notBefore.secondsSinceEpoch) }),
                PostgresArray.literal(entries.map { String($0.notAfter.secondsSinceEpoch) }),
                PostgresArray.literal(entries.map { String($0.issuerGeneration) }),
                PostgresArray.literal(entries.map(\.via.rawValue)),
                PostgresArray.literal(entries.map(\.joinTokenID)),
                PostgresArray.literal(entries.map { $0.renewedSerial?.hex }),
            ])
    }

    static let ledgerColumns = """
        serial, identity, extract(epoch FROM not_before)::bigint, extract(epoch FROM not_after)::bigint,
        issuer_generation, extract(epoch FROM issued_at)::bigint, via, join_token_id, renewed_serial,
        extract(epoch FROM revoked_at)::bigint, revocation_reason
        """

    static func entry(_ row: PostgresRow) throws -> LedgerEntry {
        guard let via = IssuanceVia(rawValue: try row.decode(6)) else {
            throw PostgresError(.decodingFailed, message: "unknown issuance \(row[6] ?? "")")
        }
        return LedgerEntry(
            serial: try CertificateSerial(validating: try row.decode(0)),
            identity: try SPIFFEID(validating: try row.decode(1)),
            notBefore: Timestamp(secondsSinceEpoch: try row.decode(2)),
            notAfter: Timestamp(secondsSinceEpoch: try row.decode(3)), issuerGeneration: try row.decode(4),
            issuedAt: Timestamp(secondsSinceEpoch: try row.decode(5)), via: via,
            joinTokenID: try row.decodeIfPresent(7, as: String.self),
            renewedSerial: try row.decodeIfPresent(8, as: String.self).map(CertificateSerial.init(validating:)),
            revokedAt: try row.decodeIfPresent(9, as: Int64.self).map(Timestamp.init(secondsSinceEpoch:)),
            revocationReason: try row.decodeIfPresent(10, as: String.self))
    }

    /// Ledger entries ordered by serial, optionally of one identity.
    public func certificates(identity: SPIFFEID?, after: String?, limit: Int) async throws -> [LedgerEntry] {
        try await run {
            try await self.pool.query(
                """
                SELECT \(Self.ledgerColumns) FROM ca_certificates
                WHERE ($1::text IS NULL OR identity = $1) AND ($2::text IS NULL OR serial > $2)
                ORDER BY serial LIMIT $3
                """, [identity?.description, after, String(limit)]
            ).map(Self.entry)
        }
    }

    public func certificate(serial: CertificateSerial) async throws -> LedgerEntry? {
        try await run {
            try await self.pool.query(
                "SELECT \(Self.ledgerColumns) FROM ca_certificates WHERE serial = $1", [serial.hex]
            ).first.map(Self.entry)
        }
    }

    /// Revokes a certificate; it appears in the trust bundle's revoked serials
    /// until it expires. Revoking it again changes nothing.
    public func revoke(serial: CertificateSerial, reason: String?) async throws -> (LedgerEntry, UInt64) {
        try await run {
            try await self.pool.transaction(isolation: .readCommitted) { connection in
                try Self.lockState(connection)
                let rows = try connection.query(
                    """
                    UPDATE ca_certificates SET revoked_at = now(), revocation_reason = $2
                    WHERE serial = $1 AND revoked_at IS NULL
                    RETURNING \(Self.ledgerColumns)
                    """, [serial.hex, reason])
                if let row = rows.first {
                    let count = try connection.query(
                        "SELECT count(*) FROM ca_certificates WHERE revoked_at IS NOT NULL AND not_after > now()"
                    )[0].decode(0, as: Int.self)
                    guard count <= ProtocolLimits.revokedSerialsPerBundle else {
                        throw CAError(
                            .conflict,
                            "the trust bundle already lists \(ProtocolLimits.revokedSerialsPerBundle) revoked serials; rotate the root instead"
                        )
                    }
                    return (try Self.entry(row), try Self.bump(connection))
                }
                let existing = try connection.query(
                    "SELECT \(Self.ledgerColumns) FROM ca_certificates WHERE serial = $1", [serial.hex])
                guard let row = existing.first else {
                    throw CAError(.notFound, "no certificate with serial \(serial) in the ledger")
                }
                return (try Self.entry(row), try Self.version(connection))
            }
        }
    }

    // MARK: Helpers

    static func lockState(_ connection: PostgresConnection) throws {
        try connection.query("SELECT bundle_version FROM ca_state FOR UPDATE")
    }

    static func version(_ connection: PostgresConnection) throws -> UInt64 {
        UInt64(try connection.query("SELECT bundle_version FROM ca_state")[0].decode(0, as: Int64.self))
    }

    /// Bumps the bundle version and notifies the replicas (delivered at commit).
    @discardableResult
    static func bump(_ connection: PostgresConnection) throws -> UInt64 {
        let version = try connection.query(
            "UPDATE ca_state SET bundle_version = bundle_version + 1 RETURNING bundle_version")[0].decode(
                0, as: Int64.self)
        try connection.notify(CASchema.channel, payload: String(version))
        return UInt64(version)
    }

    func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError where error.isUnavailable || error.kind == .shutDown {
            throw CAError(.unavailable, "the CA cannot reach its database; try again shortly", cause: error.description)
        }
    }
}
