/// How a proxy picks an endpoint for each request.
///
/// - `least_request` (default): power of two choices, pick the endpoint with fewer
///   requests in flight among `choice_count` random ones. Adapts to slow endpoints
///   without global coordination; Linkerd and Envoy both favour it.
/// - `round_robin`: weighted round robin.
/// - `random`: weighted random.
/// - `ring_hash`: consistent hashing on a request header (`hash_header`), for
///   session affinity; requests without the header are balanced randomly.
public enum LoadBalancerPolicy: Codable, Hashable, Sendable {
    case leastRequest(choiceCount: Int)
    case roundRobin
    case random
    case ringHash(header: HeaderName)

    public static let `default` = LoadBalancerPolicy.leastRequest(choiceCount: 2)

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["type", "choice_count", "hash_header"])
        let type: String = try object.required("type")
        func refuse(_ field: String) throws {
            if object.contains(field) {
                throw object.error(field, "applies only to another balancer type, not \(type)")
            }
        }
        switch type {
        case "least_request":
            try refuse("hash_header")
            let choices: Int = try object.optional("choice_count", default: 2)
            guard (2...10).contains(choices) else {
                throw object.error("choice_count", "must be between 2 and 10, got \(choices)")
            }
            self = .leastRequest(choiceCount: choices)
        case "round_robin":
            try refuse("hash_header")
            try refuse("choice_count")
            self = .roundRobin
        case "random":
            try refuse("hash_header")
            try refuse("choice_count")
            self = .random
        case "ring_hash":
            try refuse("choice_count")
            self = .ringHash(header: try object.required("hash_header"))
        default:
            throw object.error(
                "type",
                "unknown balancer \"\(type.prefix(40))\"; expected least_request, round_robin, random or ring_hash")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        switch self {
        case .leastRequest(let choices):
            try object.encode("least_request", "type")
            try object.encode(choices, "choice_count")
        case .roundRobin: try object.encode("round_robin", "type")
        case .random: try object.encode("random", "type")
        case .ringHash(let header):
            try object.encode("ring_hash", "type")
            try object.encode(header, "hash_header")
        }
    }
}
