/// An authorization rule on a service's inbound side: may `source` call
/// `destination`, optionally only with these methods and on this path?
///
/// The caller's identity comes from its mTLS certificate, never from a header.
/// When several intentions match a request, the most specific source wins (exact
/// identity, then namespace, then `*`); among equally specific ones, `deny` wins.
/// When none matches, the mesh default applies (`MeshDefaults.defaultAction`, deny
/// unless an operator chose otherwise).
public struct Intention: Codable, Hashable, Sendable {
    public var source: IdentityPattern
    public var destination: ServiceName
    public var namespace: NamespaceName
    public var action: IntentionAction
    /// Empty: any method.
    public var methods: [HTTPMethod]
    /// Nil: any path. Regexes are allowed and run in linear time.
    public var path: PathMatch?
    /// All of these request headers (L7), checked like a route's.
    public var headers: [HeaderMatch]
    public var description: String?

    public init(
        source: IdentityPattern, destination: ServiceName, namespace: NamespaceName = .default, action: IntentionAction,
        methods: [HTTPMethod] = [], path: PathMatch? = nil, headers: [HeaderMatch] = [], description: String? = nil
    ) throws(ProtocolError) {
        if let description, description.utf8.count > ProtocolLimits.descriptionLength {
            throw ProtocolError(field: "description", "longer than \(ProtocolLimits.descriptionLength) bytes")
        }
        self.source = source
        self.destination = destination
        self.namespace = namespace
        self.action = action
        self.methods = methods
        self.path = path
        self.headers = headers
        self.description = description
    }

    public var destinationReference: ServiceReference { ServiceReference(service: destination, namespace: namespace) }

    /// Whether this intention speaks about this request (its action is then the
    /// candidate verdict).
    public func applies(
        to caller: SPIFFEID, method: Substring, path requestPath: Substring,
        header: (String) -> Substring? = { _ in nil }
    ) -> Bool {
        guard source.matches(caller) else { return false }
        if !methods.isEmpty, !methods.contains(where: { $0.rawValue == method }) { return false }
        if let path, !path.matches(path: requestPath) { return false }
        for condition in headers where !condition.match.matches(header(condition.name.rawValue)) { return false }
        return true
    }

    /// Instructions in the compiled regexes of this intention (path, headers).
    public var regexProgramSize: Int {
        var total = 0
        if case .regex(let regex)? = path { total += regex.programSize }
        for condition in headers {
            if case .regex(let regex) = condition.match { total += regex.programSize }
        }
        return total
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder,
            fields: ["source", "destination", "namespace", "action", "methods", "path", "headers", "description"])
        let source: IdentityPattern = try object.required("source")
        let destination: ServiceName = try object.required("destination")
        let namespace: NamespaceName = try object.optional("namespace", default: .default)
        let action: IntentionAction = try object.required("action")
        let methods: [HTTPMethod] = try object.list("methods", limit: ProtocolLimits.methodsPerMatch)
        let path: PathMatch? = try object.optional("path")
        let headers: [HeaderMatch] = try object.list("headers", limit: ProtocolLimits.headerMatchesPerRoute)
        let description: String? = try object.optional("description")
        self = try object.validate { () throws(ProtocolError) in
            try Intention(
                source: source, destination: destination, namespace: namespace, action: action, methods: methods,
                path: path, headers: headers, description: description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(source, "source")
        try object.encode(destination, "destination")
        try object.encode(namespace, "namespace")
        try object.encode(action, "action")
        if !methods.isEmpty { try object.encode(methods, "methods") }
        try object.encode(path, "path")
        if !headers.isEmpty { try object.encode(headers, "headers") }
        try object.encode(description, "description")
    }
}
