/// An ordered list of route rules: a gateway's routes, or the routes for calls to
/// one mesh service. The first rule whose match holds takes the request; a request
/// no rule takes gets 404 from a gateway and goes to the service as-is in the mesh.
/// At most 1,000 rules; names are unique.
public struct RouteTable: Codable, Hashable, Sendable {
    public var routes: [RouteRule]

    public init(routes: [RouteRule]) throws(ProtocolError) {
        guard routes.count <= ProtocolLimits.routesPerTable else {
            throw ProtocolError(
                field: "routes", "has \(routes.count) rules; the limit is \(ProtocolLimits.routesPerTable)")
        }
        var firstIndex: [RouteName: Int] = [:]
        for (index, route) in routes.enumerated() {
            if let earlier = firstIndex[route.name] {
                throw ProtocolError(
                    FieldPath([.key("routes"), .index(index), .key("name")]),
                    "\"\(route.name)\" is already the name of routes[\(earlier)]")
            }
            firstIndex[route.name] = index
        }
        // The table's regexes together, compiled: bounded so that one write cannot
        // make every registry replica and proxy hold gigabytes.
        var instructions = 0
        for (index, route) in routes.enumerated() {
            instructions += route.match.regexProgramSize
            guard instructions <= ProtocolLimits.regexProgramSizePerTable else {
                throw ProtocolError(
                    FieldPath([.key("routes"), .index(index), .key("match")]),
                    "the table's regexes compile to more than \(ProtocolLimits.regexProgramSizePerTable) instructions in all by this rule; use fewer or simpler patterns (a prefix or exact match costs none)"
                )
            }
        }
        self.routes = routes
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["routes"])
        let routes: [RouteRule] = try object.list("routes", limit: ProtocolLimits.routesPerTable, required: false)
        self = try object.validate { () throws(ProtocolError) in try RouteTable(routes: routes) }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(routes, "routes")
    }
}
