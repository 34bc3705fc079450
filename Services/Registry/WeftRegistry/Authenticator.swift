import Synchronization
import WeftAPIServer
import WeftProtocol
import WeftTLS

/// Decides who is calling from the `Authorization: Bearer …` header.
///
/// The admin token is compared in constant time. Per-service credentials
/// (`wsc_…`) are looked up by their SHA-256 digest, never stored in clear; a
/// digest found is remembered for `cacheLifetime` so heartbeats do not cost a
/// query each and keep working while PostgreSQL is briefly away. A deleted
/// credential therefore stops working at once on the replica that deleted it and
/// within `cacheLifetime` on the others.
final class Authenticator: Sendable {
    static let credentialPrefix = "wsc_"

    let adminToken: String
    let store: any RegistryStore
    let cacheLifetime: Duration
    private let cache = Mutex<[String: (service: ServiceReference, until: ContinuousClock.Instant)]>([:])

    init(adminToken: String, store: any RegistryStore, cacheLifetime: Duration = .seconds(30)) {
        self.adminToken = adminToken
        self.store = store
        self.cacheLifetime = cacheLifetime
    }

    func authenticate(_ authorization: String?) async throws -> Principal {
        guard let authorization else {
            throw RegistryError(.unauthenticated, "send Authorization: Bearer <admin token or service credential>")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw RegistryError(.unauthenticated, "the Authorization header must be Bearer <token>")
        }
        let token = String(trimmed(parts[1]))
        if SecretDigest.constantTimeEquals(token, adminToken) { return .admin }
        if token.hasPrefix(Self.credentialPrefix), token.utf8.count <= 256 {
            let digest = SecretDigest.sha256Hex(token)
            let now = ContinuousClock.now
            if let hit = cache.withLock({ $0[digest] }), hit.until > now { return .service(hit.service) }
            if let service = try await store.credentialOwner(sha256: digest) {
                cache.withLock { cache in
                    if cache.count > 100_000 { cache.removeAll() }
                    cache[digest] = (service, now + cacheLifetime)
                }
                return .service(service)
            }
        }
        throw RegistryError(.unauthenticated, "the token is not the admin token or a current service credential")
    }

    /// Forgets every cached credential (after one is deleted here).
    func forgetCredentials() {
        cache.withLock { $0.removeAll() }
    }
}
