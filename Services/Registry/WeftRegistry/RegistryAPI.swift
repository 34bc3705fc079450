import HTTPTypes
public import Hummingbird
import Logging
public import WeftAPIServer
import WeftPostgres
import WeftProtocol
import WeftTLS

/// The registry's HTTP API: admin REST calls under `/v1`, the discovery call
/// proxies block on, and the operational endpoints (`/healthz`, `/readyz`,
/// `/metrics`, `/v1/openapi.json`). The paths are listed in `RegistryAPI.Route`
/// and documented in `docs/api/registry.openapi.json`, which is served as is.
///
/// Routing is a plain match on path segments rather than a router, so every
/// refusal is the registry's own problem+json: unknown paths 404, known paths
/// with another method 405 with `Allow`.
public struct RegistryAPI: HTTPResponder {
    public typealias Context = ChannelRequestContext

    static let indexHeader = HTTPField.Name("X-Weft-Index")!

    let store: any RegistryStore
    let cache: RegistryCache
    let authenticator: Authenticator
    let batcher: InstanceBatcher
    /// Proxies repeat their discovery request body on every long-poll.
    let discoveryRequests = DecodedBodies<DiscoveryRequest>()
    let metrics: RegistryMetrics
    let requestReload: @Sendable () -> Void
    let logger: Logger

    init(
        store: any RegistryStore, cache: RegistryCache, authenticator: Authenticator, batcher: InstanceBatcher,
        metrics: RegistryMetrics, requestReload: @escaping @Sendable () -> Void, logger: Logger
    ) {
        self.store = store
        self.cache = cache
        self.authenticator = authenticator
        self.batcher = batcher
        self.metrics = metrics
        self.requestReload = requestReload
        self.logger = logger
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        await APIResponder<Route>(service: "registry", metrics: metrics.requests, logger: logger).respond(to: request) {
            route in
            try await dispatch(route, request, meshIdentity: await context.channel.tlsHandshakeInfo()?.peerIdentity)
        }
    }

    /// The compiled regexes of every route table and intention together stay
    /// under `ProtocolLimits.regexProgramSizePerRegistry`: each replica and every
    /// proxy that receives them holds them compiled, so the sum must be bounded,
    /// not only each table or intention.
    static func checkRegexBudget(adding table: RouteTable, for key: DocumentKey, in state: RegistryState) throws {
        try checkRegexBudget(
            adding: table.routes.reduce(0) { $0 + $1.match.regexProgramSize }, what: "this table", except: key,
            in: state)
    }

    static func checkRegexBudget(adding added: Int, what: String, except key: DocumentKey?, in state: RegistryState)
        throws
    {
        func size(_ table: RouteTable) -> Int { table.routes.reduce(0) { $0 + $1.match.regexProgramSize } }
        var total = added
        for (owner, stored) in state.serviceRoutes where DocumentKey(.serviceRoutes, owner) != key {
            total += size(stored.value)
        }
        for (owner, stored) in state.gatewayRoutes where DocumentKey(.gatewayRoutes, owner) != key {
            total += size(stored.value)
        }
        for record in state.intentions { total += record.intention.regexProgramSize }
        guard total <= ProtocolLimits.regexProgramSizePerRegistry else {
            throw RegistryError(
                .conflict,
                "with \(what) the registry's route tables and intentions would compile to \(total) regex instructions; the limit is \(ProtocolLimits.regexProgramSizePerRegistry) in all: simplify or remove patterns elsewhere first"
            )
        }
    }

    /// This replica's state once it has caught up with the database: a budget
    /// that counts what is committed cannot be checked on a stale copy.
    private func caughtUpState() async throws -> RegistryState {
        let latest = try await store.currentVersion()
        await settle(latest)
        guard let caughtUp = cache.state, caughtUp.version >= latest else {
            throw RegistryError(.unavailable, "this replica is catching up with the database; try again shortly")
        }
        return caughtUp
    }

    // MARK: Routing

    /// The paths the API knows, with their parameters still as text.
    enum Route: APIRoute {
        case health, ready, metrics, openAPI
        case services
        case service(namespace: String, name: String)
        case credentials(namespace: String, name: String)
        case credential(namespace: String, name: String, id: String)
        case instances
        case instance(namespace: String, service: String, id: String)
        case heartbeat(namespace: String, service: String, id: String)
        case maintenance(namespace: String, service: String, id: String)
        case policies
        case policy(namespace: String, service: String)
        case routeTables(kind: String)
        case routeTable(kind: String, namespace: String, name: String)
        case intentions
        case intention(id: String)
        case defaults
        case audit
        case discovery
        case unknown

        init(_ segments: [String]) {
            switch segments {
            case ["healthz"]: self = .health
            case ["readyz"]: self = .ready
            case ["metrics"]: self = .metrics
            case ["v1", "openapi.json"]: self = .openAPI
            case ["v1", "services"]: self = .services
            case let s where s.count == 4 && s[0] == "v1" && s[1] == "services":
                self = .service(namespace: s[2], name: s[3])
            case let s where s.count == 5 && s[0] == "v1" && s[1] == "services" && s[4] == "credentials":
                self = .credentials(namespace: s[2], name: s[3])
            case let s where s.count == 6 && s[0] == "v1" && s[1] == "services" && s[4] == "credentials":
                self = .credential(namespace: s[2], name: s[3], id: s[5])
            case ["v1", "instances"]: self = .instances
            case let s where s.count == 5 && s[0] == "v1" && s[1] == "instances":
                self = .instance(namespace: s[2], service: s[3], id: s[4])
            case let s where s.count == 6 && s[0] == "v1" && s[1] == "instances" && s[5] == "heartbeat":
                self = .heartbeat(namespace: s[2], service: s[3], id: s[4])
            case let s where s.count == 6 && s[0] == "v1" && s[1] == "instances" && s[5] == "maintenance":
                self = .maintenance(namespace: s[2], service: s[3], id: s[4])
            case ["v1", "policies"]: self = .policies
            case let s where s.count == 4 && s[0] == "v1" && s[1] == "policies":
                self = .policy(namespace: s[2], service: s[3])
            case let s
            where s.count == 3 && s[0] == "v1" && s[1] == "routes" && ["services", "gateways"].contains(s[2]):
                self = .routeTables(kind: s[2])
            case let s
            where s.count == 5 && s[0] == "v1" && s[1] == "routes" && ["services", "gateways"].contains(s[2]):
                self = .routeTable(kind: s[2], namespace: s[3], name: s[4])
            case ["v1", "intentions"]: self = .intentions
            case let s where s.count == 3 && s[0] == "v1" && s[1] == "intentions": self = .intention(id: s[2])
            case ["v1", "defaults"]: self = .defaults
            case ["v1", "audit"]: self = .audit
            case ["v1", "discovery"]: self = .discovery
            default: self = .unknown
            }
        }

        /// The path template, for metrics labels and logs.
        var template: String? {
            switch self {
            case .health: "/healthz"
            case .ready: "/readyz"
            case .metrics: "/metrics"
            case .openAPI: "/v1/openapi.json"
            case .services: "/v1/services"
            case .service: "/v1/services/{namespace}/{name}"
            case .credentials: "/v1/services/{namespace}/{name}/credentials"
            case .credential: "/v1/services/{namespace}/{name}/credentials/{id}"
            case .instances: "/v1/instances"
            case .instance: "/v1/instances/{namespace}/{service}/{id}"
            case .heartbeat: "/v1/instances/{namespace}/{service}/{id}/heartbeat"
            case .maintenance: "/v1/instances/{namespace}/{service}/{id}/maintenance"
            case .policies: "/v1/policies"
            case .policy: "/v1/policies/{namespace}/{service}"
            case .routeTables(let kind): "/v1/routes/\(kind)"
            case .routeTable(let kind, _, _): "/v1/routes/\(kind)/{namespace}/{name}"
            case .intentions: "/v1/intentions"
            case .intention: "/v1/intentions/{id}"
            case .defaults: "/v1/defaults"
            case .audit: "/v1/audit"
            case .discovery: "/v1/discovery"
            case .unknown: nil
            }
        }

        var methods: [HTTPRequest.Method] {
            switch self {
            case .health, .ready, .metrics, .openAPI, .instances, .policies, .routeTables, .audit: [.get]
            case .services, .credentials, .intentions: [.get, .post]
            case .service, .instance, .policy, .routeTable, .defaults: [.get, .put, .delete]
            case .credential, .intention: [.get, .delete]
            case .heartbeat: [.put]
            case .maintenance: [.put, .delete]
            case .discovery: [.post]
            case .unknown: []
            }
        }

        /// Calls anyone may make without a token.
        var isPublic: Bool {
            switch self {
            case .health, .ready, .metrics, .openAPI: true
            default: false
            }
        }
    }

    /// - Parameter meshIdentity: the caller's SPIFFE ID when the call came over
    ///   the mesh listener (verified in the handshake against the CA's bundle and
    ///   trust domain); it stands for its service, as that service's credential
    ///   does, and no token is read.
    private func dispatch(_ route: Route, _ request: Request, meshIdentity: String?) async throws -> Response {
        if route.isPublic { return try operational(route) }
        let principal: Principal
        if let meshIdentity {
            guard let identity = try? SPIFFEID(validating: meshIdentity) else {
                throw RegistryError(.unauthenticated, "the client certificate names no workload identity")
            }
            principal = .service(identity.serviceReference)
        } else {
            principal = try await authenticator.authenticate(request.headers[.authorization])
        }
        var exchange = APIExchange(request: request, principal: principal)
        return try await handle(route, &exchange)
    }

    private func operational(_ route: Route) throws -> Response {
        switch route {
        case .health:
            return try APIResponse.json(["status": "ok"])
        case .ready:
            guard let version = cache.version else {
                return APIResponse.problem(
                    Problem(
                        type: Problem.typeBase + "not-ready", title: "Not ready", status: 503,
                        detail: "the registry has not loaded its state from PostgreSQL yet"))
            }
            return try APIResponse.json(["status": "ready", "version": String(version)])
        case .metrics:
            if let version = cache.version { metrics.stateVersion.set(Double(version)) }
            metrics.watchers.set(Double(cache.waiterCount))
            return APIResponse.bytes(metrics.exposition(), contentType: RequestMetrics.contentType)
        case .openAPI:
            return APIResponse.bytes(Array(RegistryOpenAPI.document.utf8))
        default:
            preconditionFailure("\(route) is not operational")
        }
    }

    // MARK: Handlers

    private func handle(_ route: Route, _ exchange: inout APIExchange) async throws -> Response {
        let method = exchange.request.method
        switch route {
        case .services:
            try exchange.requireAdmin()
            if method == .get { return try list(exchange, state().services.values.map(\.value), key: \.reference) }
            _ = try exchange.query(allowed: [])
            let service = try await exchange.body(Service.self)
            let version = try await store.putService(
                service, create: true, ifMatch: nil, actor: exchange.principal.actor)
            return try await respondWithService(service, after: version, status: .created)

        case .service(let namespace, let name):
            try exchange.requireAdmin()
            _ = try exchange.query(allowed: [])
            let reference = try Self.reference(namespace, name)
            switch method {
            case .get:
                guard let service = try state().services[reference] else { throw Self.missing("service", reference) }
                return try APIResponse.json(service.value, etag: service.modifyVersion)
            case .put:
                let service = try await exchange.body(Service.self)
                try Self.matchPath(service.reference, reference)
                let version = try await store.putService(
                    service, create: false, ifMatch: try exchange.ifMatch(), actor: exchange.principal.actor)
                return try await respondWithService(service, after: version, status: .ok)
            default:
                let version = try await store.deleteService(
                    reference, ifMatch: try exchange.ifMatch(), actor: exchange.principal.actor)
                await settle(version)
                return APIResponse.noContent(version: version)
            }

        case .credentials(let namespace, let name):
            try exchange.requireAdmin()
            _ = try exchange.query(allowed: [])
            let reference = try Self.reference(namespace, name)
            if method == .get {
                let items = try await store.credentials(reference).map {
                    CredentialView(service: reference, id: $0.id, createdAt: $0.createdAt)
                }
                return try APIResponse.json(ListBody(items: items))
            }
            let secret = try SecretDigest.newCredential()
            let (id, version) = try await store.addCredential(
                reference, sha256: SecretDigest.sha256Hex(secret), actor: exchange.principal.actor)
            await settle(version)
            return try APIResponse.json(CredentialView(service: reference, id: id, secret: secret), status: .created)

        case .credential(let namespace, let name, let idText):
            try exchange.requireAdmin()
            _ = try exchange.query(allowed: [])
            let reference = try Self.reference(namespace, name)
            let id = try Self.numericID(idText, "credential")
            if method == .get {
                guard let info = try await store.credentials(reference).first(where: { $0.id == id }) else {
                    throw RegistryError(.notFound, "service \(reference) has no credential \(id)")
                }
                return try APIResponse.json(CredentialView(service: reference, id: id, createdAt: info.createdAt))
            }
            let version = try await store.deleteCredential(reference, id: id, actor: exchange.principal.actor)
            authenticator.forgetCredentials()
            await settle(version)
            return APIResponse.noContent(version: version)

        case .instances:
            try exchange.requireAdmin()
            let parameters = try exchange.query(allowed: Page.allowedParameters.union(["namespace", "service"]))
            let page = try Page(parameters)
            let namespace = try parameters["namespace"].map { (text) throws(ProtocolError) in
                try NamespaceName(validating: text)
            }
            let service = try parameters["service"].map { (text) throws(ProtocolError) in
                try ServiceName(validating: text)
            }
            let all = try state().instances.values.joined().filter {
                (namespace == nil || $0.instance.namespace == namespace)
                    && (service == nil || $0.instance.service == service)
            }.sorted { Self.instanceCursor($0.instance) < Self.instanceCursor($1.instance) }
            let (items, next) = page.slice(all) { Self.instanceCursor($0.instance) }
            return try APIResponse.json(ListBody(items: items.map(InstanceView.init), next: next))

        case .instance(let namespace, let serviceName, let idText):
            _ = try exchange.query(allowed: [])
            let reference = try Self.reference(namespace, serviceName)
            let id = try Self.instanceID(idText)
            try exchange.requireAdminOr(reference)
            switch method {
            case .get:
                guard let record = try state().instance(reference, id) else { throw Self.missing(reference, id) }
                return try APIResponse.json(InstanceView(record: record), etag: record.modifyVersion)
            case .put:
                let instance = try await exchange.body(Instance.self)
                try Self.matchPath(instance.reference, reference)
                guard instance.id == id else {
                    throw RegistryError(
                        invalid: ProtocolError(field: "id", "is \(instance.id) but the path names \(id)"))
                }
                if instance.health == .maintenance { try exchange.requireAdmin() }
                let version = try await batcher.register(
                    Registration(instance: instance, actor: exchange.principal.actor))
                await settle(version)
                guard let record = cache.state?.instance(reference, id) else {
                    return try APIResponse.json(VersionView(version: version))
                }
                return try APIResponse.json(
                    InstanceView(record: record), etag: record.modifyVersion, extraHeaders: Self.index(version))
            default:
                let version = try await store.deregisterInstance(reference, id, actor: exchange.principal.actor)
                await settle(version)
                return APIResponse.noContent(version: version)
            }

        case .heartbeat(let namespace, let serviceName, let idText):
            _ = try exchange.query(allowed: [])
            let reference = try Self.reference(namespace, serviceName)
            let id = try Self.instanceID(idText)
            try exchange.requireAdminOr(reference)
            let beat = try await exchange.body(Heartbeat.self, emptyIsObject: true)
            guard let version = try await batcher.beat(HeartbeatItem(service: reference, id: id, health: beat.health))
            else {
                throw RegistryError(.notFound, "instance \(id) of \(reference) is not registered; register it again")
            }
            metrics.heartbeats.increment()
            // Back from expiry or a new health: serve it before answering, like any write.
            if let current = cache.version, version > current { await settle(version) }
            return try APIResponse.json(VersionView(version: version), extraHeaders: Self.index(version))

        case .maintenance(let namespace, let serviceName, let idText):
            try exchange.requireAdmin()
            _ = try exchange.query(allowed: [])
            let reference = try Self.reference(namespace, serviceName)
            let id = try Self.instanceID(idText)
            let version = try await store.setMaintenance(
                reference, id, method == .put, actor: exchange.principal.actor)
            await settle(version)
            return APIResponse.noContent(version: version)

        case .policies:
            try exchange.requireAdmin()
            return try list(exchange, state().policies.values.map(\.value), key: \.reference)

        case .policy(let namespace, let serviceName):
            try exchange.requireAdmin()
            _ = try exchange.query(allowed: [])
            let reference = try Self.reference(namespace, serviceName)
            let key = DocumentKey(.policy, reference)
            switch method {
            case .get:
                guard let policy = try state().policies[reference] else {
                    throw Self.missing("traffic policy", reference)
                }
                return try APIResponse.json(policy.value, etag: policy.modifyVersion)
            case .put:
                let policy = try await exchange.body(TrafficPolicy.self)
                try Self.matchPath(policy.reference, reference)
                let version = try await store.putDocument(
                    .policy(policy), ifMatch: try exchange.ifMatch(), actor: exchange.principal.actor)
                await settle(version)
                let stored = cache.state?.policies[reference]
                return try APIResponse.json(
                    stored?.value ?? policy, etag: stored?.modifyVersion, extraHeaders: Self.index(version))
            default:
                return try await deleteDocument(key, exchange)
            }

        case .routeTables(let kind):
            try exchange.requireAdmin()
            let tables = try kind == "services" ? state().serviceRoutes : state().gatewayRoutes
            let views = tables.map { RouteTableView(owner: $0.key, table: $0.value) }
            return try list(exchange, views, key: \.owner)

        case .routeTable(let kind, let namespace, let name):
            try exchange.requireAdmin()
            _ = try exchange.query(allowed: [])
            let owner = try Self.reference(namespace, name)
            let key = DocumentKey(kind == "services" ? .serviceRoutes : .gatewayRoutes, owner)
            func stored() throws -> Versioned<RouteTable>? {
                try kind == "services" ? state().serviceRoutes[owner] : state().gatewayRoutes[owner]
            }
            switch method {
            case .get:
                guard let table = try stored() else { throw Self.missing("route table", owner) }
                return try APIResponse.json(table.value, etag: table.modifyVersion)
            case .put:
                let table = try await exchange.body(RouteTable.self)
                // The budget counts every table committed so far: this replica
                // first catches up with the database (a stale copy would let
                // writes through past the limit); if it cannot soon, try later.
                try Self.checkRegexBudget(adding: table, for: key, in: try await caughtUpState())
                let document: RegistryDocument =
                    kind == "services" ? .serviceRoutes(owner, table) : .gatewayRoutes(owner, table)
                let version = try await store.putDocument(
                    document, ifMatch: try exchange.ifMatch(), actor: exchange.principal.actor)
                await settle(version)
                let current = try? stored()
                return try APIResponse.json(
                    current?.value ?? table, etag: current?.modifyVersion, extraHeaders: Self.index(version))
            default:
                return try await deleteDocument(key, exchange)
            }

        case .intentions:
            try exchange.requireAdmin()
            if method == .get {
                let parameters = try exchange.query(allowed: Page.allowedParameters)
                let records = try state().intentions
                let (items, next) = try Page(parameters).slice(records) { Self.idCursor($0.id) }
                return try APIResponse.json(ListBody(items: items.map(IntentionView.init), next: next))
            }
            _ = try exchange.query(allowed: [])
            let intention = try await exchange.body(Intention.self)
            if intention.regexProgramSize > 0 {
                try Self.checkRegexBudget(
                    adding: intention.regexProgramSize, what: "this intention", except: nil,
                    in: try await caughtUpState())
            }
            let (id, version) = try await store.createIntention(intention, actor: exchange.principal.actor)
            await settle(version)
            var headers = Self.index(version)
            headers[.location] = "\(APIPaths.intentions)/\(id)"
            return try APIResponse.json(
                IntentionView(record: IntentionRecord(id: id, intention: intention, modifyVersion: version)),
                status: .created, etag: version, extraHeaders: headers)

        case .intention(let idText):
            try exchange.requireAdmin()
            _ = try exchange.query(allowed: [])
            let id = try Self.numericID(idText, "intention")
            if method == .get {
                guard let record = try state().intentions.first(where: { $0.id == id }) else {
                    throw RegistryError(.notFound, "intention \(id) does not exist")
                }
                return try APIResponse.json(IntentionView(record: record), etag: record.modifyVersion)
            }
            let version = try await store.deleteIntention(
                id: id, ifMatch: try exchange.ifMatch(), actor: exchange.principal.actor)
            await settle(version)
            return APIResponse.noContent(version: version)

        case .defaults:
            try exchange.requireAdmin()
            _ = try exchange.query(allowed: [])
            switch method {
            case .get:
                let defaults = try state().defaults
                return try APIResponse.json(defaults.value, etag: defaults.modifyVersion)
            case .put:
                let defaults = try await exchange.body(MeshDefaults.self)
                let version = try await store.putDocument(
                    .defaults(defaults), ifMatch: try exchange.ifMatch(), actor: exchange.principal.actor)
                await settle(version)
                let stored = cache.state?.defaults
                return try APIResponse.json(
                    stored?.value ?? defaults, etag: stored?.modifyVersion, extraHeaders: Self.index(version))
            default:
                return try await deleteDocument(.defaults, exchange)
            }

        case .audit:
            try exchange.requireAdmin()
            let parameters = try exchange.query(allowed: Page.allowedParameters)
            let page = try Page(parameters)
            let after = try page.after.map { try Self.numericID($0, "after") } ?? 0
            let entries = try await store.auditLog(after: after, limit: page.limit + 1)
            let items = Array(entries.prefix(page.limit))
            let next = entries.count > page.limit ? items.last.map { String($0.id) } : nil
            return try APIResponse.json(ListBody(items: items.map(AuditView.init), next: next))

        case .discovery:
            return try await discover(&exchange)

        case .health, .ready, .metrics, .openAPI, .unknown:
            preconditionFailure("\(route) is dispatched elsewhere")
        }
    }

    /// A blocking query: answers once this replica's version passes `index`, or
    /// when `wait` runs out (with the current snapshot either way). Index 0 and an
    /// `index` above the current version (the database was restored, or the proxy
    /// talked to another cluster) are answered at once, so the proxy starts over.
    private func discover(_ exchange: inout APIExchange) async throws -> Response {
        let parameters = exchange.request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }
        let query = try DiscoveryQuery(parameters: parameters)
        let request = try await exchange.body(DiscoveryRequest.self, memo: discoveryRequests)
        if case .service(let own) = exchange.principal, own != request.service {
            throw RegistryError(.forbidden, "the credential belongs to \(own); it cannot ask for \(request.service)")
        }
        // Index 0 (a proxy's first call) never blocks, even on a new, empty
        // registry still at version 0.
        let current = cache.version ?? 0
        let blocks = query.index > 0 && query.index <= current
        let timeout = Duration.milliseconds(blocks ? query.wait.milliseconds : 0)
        let scope = blocks ? cache.state?.scope(of: request) : nil
        guard let state = await cache.wait(above: blocks ? query.index : 0, scope: scope, timeout: timeout) else {
            throw RegistryError(.unavailable, "the registry has not loaded its state from PostgreSQL yet")
        }
        let body = try cache.encodedSnapshot(request, at: state)
        return APIResponse.bytes(body, extraHeaders: Self.index(state.version))
    }

    // MARK: Helpers

    /// The loaded state; before the first load, reads answer 503.
    private func state() throws -> RegistryState {
        guard let state = cache.state else {
            throw RegistryError(.unavailable, "the registry has not loaded its state from PostgreSQL yet")
        }
        return state
    }

    /// After a write: make this replica serve it before answering, so the caller
    /// reads what it wrote.
    private func settle(_ version: UInt64) async {
        requestReload()
        await cache.waitUntil(atLeast: version, timeout: .seconds(2))
    }

    /// Answers a service write with the service and its ETag. This replica's
    /// cache normally serves it; when the cache has not caught up within the
    /// settle time (a loaded machine), the answer is what was written, at the
    /// version it was written with: never an older copy, never a body without
    /// an ETag.
    private func respondWithService(_ written: Service, after version: UInt64, status: HTTPResponse.Status)
        async throws -> Response
    {
        await settle(version)
        let reference = written.reference
        var headers = Self.index(version)
        if status == .created {
            headers[.location] = "\(APIPaths.services)/\(reference.namespace)/\(reference.service)"
        }
        guard let service = cache.state?.services[reference], service.modifyVersion >= version else {
            return try APIResponse.json(written, status: status, etag: version, extraHeaders: headers)
        }
        return try APIResponse.json(service.value, status: status, etag: service.modifyVersion, extraHeaders: headers)
    }

    private func deleteDocument(_ key: DocumentKey, _ exchange: APIExchange) async throws -> Response {
        let version = try await store.deleteDocument(
            key, ifMatch: try exchange.ifMatch(), actor: exchange.principal.actor)
        await settle(version)
        return APIResponse.noContent(version: version)
    }

    private func list<T: Encodable>(_ exchange: APIExchange, _ items: [T], key: (T) -> ServiceReference) throws
        -> Response
    {
        let page = try Page(try exchange.query(allowed: Page.allowedParameters))
        // Sorted by the cursor text itself: ordering by name and paging by text
        // disagree ("a-b/x" < "a/x" as text, "a" < "a-b" as names) and would
        // skip or repeat items across pages.
        let sorted = items.sorted { Self.referenceCursor(key($0)) < Self.referenceCursor(key($1)) }
        let (slice, next) = page.slice(sorted) { Self.referenceCursor(key($0)) }
        return try APIResponse.json(ListBody(items: slice, next: next))
    }

    static func index(_ version: UInt64) -> HTTPFields {
        var headers = HTTPFields()
        headers[indexHeader] = String(version)
        return headers
    }

    static func reference(_ namespace: String, _ name: String) throws -> ServiceReference {
        do {
            return ServiceReference(
                service: try ServiceName(validating: name), namespace: try NamespaceName(validating: namespace))
        } catch {
            throw RegistryError(invalid: ProtocolError(field: "path", error.reason))
        }
    }

    static func instanceID(_ text: String) throws -> InstanceID {
        do {
            return try InstanceID(validating: text)
        } catch {
            throw RegistryError(invalid: ProtocolError(field: "path", error.reason))
        }
    }

    static func numericID(_ text: String, _ what: String) throws -> Int64 {
        guard let id = Int64(text), id >= 0 else {
            throw RegistryError(
                invalid: ProtocolError(field: what, "must be a non-negative integer, got \(text.prefix(40))"))
        }
        return id
    }

    static func matchPath(_ body: ServiceReference, _ path: ServiceReference) throws {
        guard body == path else {
            throw RegistryError(invalid: ProtocolError("the body is for \(body) but the path names \(path)"))
        }
    }

    static func missing(_ what: String, _ reference: ServiceReference) -> RegistryError {
        RegistryError(.notFound, "no \(what) \(reference) is stored")
    }

    static func missing(_ reference: ServiceReference, _ id: InstanceID) -> RegistryError {
        RegistryError(.notFound, "instance \(id) of \(reference) is not registered")
    }

    /// Cursors: lists are sorted by these texts, so `after` is a plain comparison.
    static func referenceCursor(_ reference: ServiceReference) -> String {
        "\(reference.namespace.rawValue)/\(reference.service.rawValue)"
    }

    static func instanceCursor(_ instance: Instance) -> String {
        "\(instance.namespace.rawValue)/\(instance.service.rawValue)/\(instance.id.rawValue)"
    }

    /// Ids zero-padded so that text order is numeric order.
    static func idCursor(_ id: Int64) -> String {
        let digits = String(id)
        return String(repeating: "0", count: max(0, 19 - digits.count)) + digits
    }
}
