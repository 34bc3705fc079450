/// A request to explain against a gateway's route table (`POST /routes/explain`
/// on the gateway's admin port, `weftctl route explain`): nothing is sent, the
/// gateway only says what it would do.
///
/// `{"method": "GET", "host": "api.example.com", "path": "/v1/pay?x=1",
///   "headers": {"x-firmware-version": "2.4.1"}}`; `method` defaults to GET and
/// `path` to `/`.
public struct RouteExplainQuery: Codable, Hashable, Sendable {
    public var method: String
    public var host: String
    public var path: String
    public var headers: [String: String]

    public init(method: String = "GET", host: String, path: String = "/", headers: [String: String] = [:])
        throws(ProtocolError)
    {
        guard !method.isEmpty, method.utf8.count <= 32, method.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ProtocolError(field: "method", "must be an HTTP method")
        }
        guard !host.isEmpty, host.utf8.count <= 255 else {
            throw ProtocolError(field: "host", "must be 1 to 255 bytes")
        }
        guard path.hasPrefix("/"), path.utf8.count <= ProtocolLimits.pathLength else {
            throw ProtocolError(field: "path", "must start with / and be at most \(ProtocolLimits.pathLength) bytes")
        }
        guard headers.count <= 100 else { throw ProtocolError(field: "headers", "at most 100 headers") }
        self.method = method.uppercased()
        self.host = host
        self.path = path
        self.headers = headers
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["method", "host", "path", "headers"])
        let method: String = try object.optional("method", default: "GET")
        let host: String = try object.required("host")
        let path: String = try object.optional("path", default: "/")
        let headers: [String: String] = try object.optional("headers", default: [:])
        self = try object.validate { () throws(ProtocolError) in
            try RouteExplainQuery(method: method, host: host, path: path, headers: headers)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(method, "method")
        try object.encode(host, "host")
        try object.encode(path, "path")
        try object.encode(headers, "headers")
    }
}

/// The gateway's answer to a `RouteExplainQuery`: every rule up to the one that
/// takes the request, each with the first condition the request failed, and
/// where the request would go.
public struct RouteExplanation: Codable, Hashable, Sendable {
    public struct Verdict: Codable, Hashable, Sendable {
        public var route: String
        public var matched: Bool
        /// The first condition the request failed, with what it carried.
        public var reason: String?

        public init(route: String, matched: Bool, reason: String?) {
            self.route = route
            self.matched = matched
            self.reason = reason
        }
    }

    public struct Pick: Codable, Hashable, Sendable {
        public var service: String
        public var namespace: String
        public var subset: [String: String]
        public var weight: Int
        /// Endpoints of that destination receiving traffic now.
        public var endpoints: Int
        /// `sticky (x-terminal-id, bucket 1234 of 10000)`, `random by weight`, or
        /// `only destination`.
        public var chosenBy: String

        public init(
            service: String, namespace: String, subset: [String: String], weight: Int, endpoints: Int,
            chosenBy: String
        ) {
            self.service = service
            self.namespace = namespace
            self.subset = subset
            self.weight = weight
            self.endpoints = endpoints
            self.chosenBy = chosenBy
        }

        enum CodingKeys: String, CodingKey {
            case service, namespace, subset, weight, endpoints
            case chosenBy = "chosen_by"
        }
    }

    /// The snapshot version the gateway explained against.
    public var version: UInt64
    public var matched: String?
    /// Where the request goes; for a random split, every destination with its
    /// weight.
    public var destinations: [Pick]
    public var rules: [Verdict]
    /// What the client would get, in words.
    public var outcome: String

    public init(version: UInt64, matched: String?, destinations: [Pick], rules: [Verdict], outcome: String) {
        self.version = version
        self.matched = matched
        self.destinations = destinations
        self.rules = rules
        self.outcome = outcome
    }
}
