/// How a proxy picks an endpoint for each request (within the caller's zone
/// first; see the proxy's `Balancer`).
///
/// - `peak_ewma` (default): power of two choices by peak-EWMA latency × requests
///   in flight, so a slow endpoint loses its share as soon as it slows (Linkerd's
///   and Finagle's default).
/// - `least_request`: power of `choice_count` choices by requests in flight.
/// - `round_robin`: smooth weighted round robin.
/// - `random`: weighted random.
/// - `ring_hash`: consistent hashing on a request header (`hash_header`) or
///   cookie (`hash_cookie`), for session affinity; requests without it are
///   balanced at random.
public enum LoadBalancerPolicy: Codable, Hashable, Sendable {
    case peakEWMA
    case leastRequest(choiceCount: Int)
    case roundRobin
    case random
    case ringHash(HashKey)

    /// What a ring-hash balancer hashes.
    public enum HashKey: Hashable, Sendable {
        case header(HeaderName)
        /// A cookie's name: a token (RFC 6265), 1 to 64 bytes.
        case cookie(String)
    }

    public static let `default` = LoadBalancerPolicy.peakEWMA

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["type", "choice_count", "hash_header", "hash_cookie"])
        let type: String = try object.required("type")
        func refuse(_ fields: String...) throws {
            for field in fields where object.contains(field) {
                throw object.error(field, "applies only to another balancer type, not \(type.prefix(40))")
            }
        }
        switch type {
        case "peak_ewma":
            try refuse("hash_header", "hash_cookie", "choice_count")
            self = .peakEWMA
        case "least_request":
            try refuse("hash_header", "hash_cookie")
            let choices: Int = try object.optional("choice_count", default: 2)
            guard (2...10).contains(choices) else {
                throw object.error("choice_count", "must be between 2 and 10, got \(choices)")
            }
            self = .leastRequest(choiceCount: choices)
        case "round_robin":
            try refuse("hash_header", "hash_cookie", "choice_count")
            self = .roundRobin
        case "random":
            try refuse("hash_header", "hash_cookie", "choice_count")
            self = .random
        case "ring_hash":
            try refuse("choice_count")
            let header: HeaderName? = try object.optional("hash_header")
            let cookie: String? = try object.optional("hash_cookie")
            switch (header, cookie) {
            case (let header?, nil):
                self = .ringHash(.header(header))
            case (nil, let cookie?):
                guard (1...64).contains(cookie.utf8.count), cookie.utf8.allSatisfy(Self.isTokenByte) else {
                    throw object.error("hash_cookie", "must be a cookie name: 1 to 64 token characters (RFC 6265)")
                }
                self = .ringHash(.cookie(cookie))
            case (nil, nil):
                throw object.error("hash_header", "is required (or hash_cookie) for ring_hash")
            case (_?, _?):
                throw object.error("hash_cookie", "cannot be given with hash_header; hash one or the other")
            }
        default:
            throw object.error(
                "type",
                "unknown balancer \"\(type.prefix(40))\"; expected peak_ewma, least_request, round_robin, random or ring_hash"
            )
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        switch self {
        case .peakEWMA: try object.encode("peak_ewma", "type")
        case .leastRequest(let choices):
            try object.encode("least_request", "type")
            try object.encode(choices, "choice_count")
        case .roundRobin: try object.encode("round_robin", "type")
        case .random: try object.encode("random", "type")
        case .ringHash(.header(let header)):
            try object.encode("ring_hash", "type")
            try object.encode(header, "hash_header")
        case .ringHash(.cookie(let cookie)):
            try object.encode("ring_hash", "type")
            try object.encode(cookie, "hash_cookie")
        }
    }
}
