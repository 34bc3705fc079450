/// The conditions a request must meet for a route to take it. Every condition
/// given must hold; an empty match takes every request.
public struct RouteMatch: Codable, Hashable, Sendable {
    /// Any of these hosts (empty: any host).
    public var hosts: [HostPattern]
    public var path: PathMatch?
    /// Any of these methods (empty: any method).
    public var methods: [HTTPMethod]
    /// All of these headers.
    public var headers: [HeaderMatch]
    /// All of these query parameters.
    public var query: [QueryParameterMatch]

    public init(
        hosts: [HostPattern] = [], path: PathMatch? = nil, methods: [HTTPMethod] = [], headers: [HeaderMatch] = [],
        query: [QueryParameterMatch] = []
    ) {
        self.hosts = hosts
        self.path = path
        self.methods = methods
        self.headers = headers
        self.query = query
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["hosts", "path", "methods", "headers", "query"])
        self.hosts = try object.list("hosts", limit: ProtocolLimits.hostsPerMatch)
        self.path = try object.optional("path")
        self.methods = try object.list("methods", limit: ProtocolLimits.methodsPerMatch)
        self.headers = try object.list("headers", limit: ProtocolLimits.headerMatchesPerRoute)
        self.query = try object.list("query", limit: ProtocolLimits.queryMatchesPerRoute)
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        if !hosts.isEmpty { try object.encode(hosts, "hosts") }
        try object.encode(path, "path")
        if !methods.isEmpty { try object.encode(methods, "methods") }
        if !headers.isEmpty { try object.encode(headers, "headers") }
        if !query.isEmpty { try object.encode(query, "query") }
    }
}

extension RouteMatch {
    /// Instructions in the compiled regexes of this match (path, headers, query).
    public var regexProgramSize: Int {
        var total = 0
        if case .regex(let regex)? = path { total += regex.programSize }
        for header in headers { if case .regex(let regex) = header.match { total += regex.programSize } }
        for parameter in query { if case .regex(let regex) = parameter.match { total += regex.programSize } }
        return total
    }
}
