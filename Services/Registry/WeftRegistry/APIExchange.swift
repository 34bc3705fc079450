import HTTPTypes
import Hummingbird
import NIOCore
import WeftAPIServer
import WeftProtocol

/// Who is calling: the operator (admin token) or one service's workload (its
/// per-service credential, until mesh certificates identify workloads).
enum Principal: Equatable, Sendable {
    case admin
    case service(ServiceReference)

    /// How the audit log names this caller.
    var actor: String {
        switch self {
        case .admin: "admin"
        case .service(let reference): "service:\(reference)"
        }
    }
}

/// One admin API call being handled: the request plus what handlers need to read
/// it strictly (JSON bodies, query parameters, `If-Match`) and to answer it.
struct APIExchange {
    var request: Request
    var principal: Principal

    /// Decodes the body as `T` with WeftProtocol's strict rules (1 MiB at most:
    /// a route table of 1,000 rules fits). An empty body decodes as `{}` when
    /// `emptyIsObject` (heartbeats).
    mutating func body<T: Decodable>(
        _ type: T.Type, emptyIsObject: Bool = false, memo: DecodedBodies<T>? = nil
    ) async throws -> T {
        try await request.decodeJSON(type, emptyIsObject: emptyIsObject, memo: memo)
    }

    func query(allowed: Set<String>) throws(ProtocolError) -> [String: String] {
        try request.strictQuery(allowed: allowed)
    }

    /// `If-Match: "12"` (or `12`): the version the caller last saw; nil when absent.
    func ifMatch() throws -> UInt64? {
        guard let value = request.headers[.ifMatch] else { return nil }
        let tag = trimmed(Substring(value))
        let bare = tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count >= 2 ? tag.dropFirst().dropLast() : tag
        guard let version = UInt64(bare) else {
            throw RegistryError(
                invalid: ProtocolError(
                    field: "If-Match", "must be one version as an entity tag, like \"12\"; got \(value.prefix(40))"))
        }
        return version
    }

    func requireAdmin() throws {
        guard principal == .admin else {
            throw RegistryError(.forbidden, "this call needs the admin token; a service credential cannot make it")
        }
    }

    /// Admins may act on any service; a service credential only on its own.
    func requireAdminOr(_ service: ServiceReference) throws {
        switch principal {
        case .admin: return
        case .service(let own) where own == service: return
        case .service(let own):
            throw RegistryError(.forbidden, "the credential belongs to \(own); it cannot act for \(service)")
        }
    }
}

extension APIResponse {
    /// 204 carrying the registry version the change produced.
    static func noContent(version: UInt64?) -> Response {
        var headers = HTTPFields()
        if let version { headers[RegistryAPI.indexHeader] = String(version) }
        return noContent(extraHeaders: headers)
    }
}
