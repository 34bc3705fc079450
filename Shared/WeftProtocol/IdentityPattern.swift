/// Which callers an intention speaks about: one workload identity, every identity
/// of a namespace (`spiffe://td/ns/shop/sa/*`), or any mesh identity (`*`).
///
/// Only these three forms exist, so precedence between intentions is simple and
/// explicit: exact beats namespace-wide beats any.
public enum IdentityPattern: StringValidated, Hashable, Sendable {
    case any
    case namespace(trustDomain: String, namespace: NamespaceName)
    case exact(SPIFFEID)

    public init(validating text: String) throws(ProtocolError) {
        if text == "*" {
            self = .any
        } else if text.hasSuffix("/sa/*") {
            // Validate the namespace part by parsing it as an ID with a stand-in name.
            let id: SPIFFEID
            do {
                id = try SPIFFEID(validating: String(text.dropLast()) + "x")
            } catch {
                throw ProtocolError(
                    "invalid identity pattern \"\(text.prefix(120))\": expected *, spiffe://<trust-domain>/ns/<namespace>/sa/* or a SPIFFE ID"
                )
            }
            self = .namespace(trustDomain: id.trustDomain, namespace: id.namespace)
        } else if text.contains("*") {
            throw ProtocolError(
                "invalid identity pattern \"\(text.prefix(120))\": '*' may only stand for the whole identity or the service segment (…/sa/*)"
            )
        } else {
            self = .exact(try SPIFFEID(validating: text))
        }
    }

    public var description: String {
        switch self {
        case .any: return "*"
        case .namespace(let trustDomain, let namespace): return "spiffe://\(trustDomain)/ns/\(namespace)/sa/*"
        case .exact(let id): return id.description
        }
    }

    /// Whether `identity` falls under this pattern.
    public func matches(_ identity: SPIFFEID) -> Bool {
        switch self {
        case .any: return true
        case .namespace(let trustDomain, let namespace):
            return identity.trustDomain == trustDomain && identity.namespace == namespace
        case .exact(let id): return id == identity
        }
    }

    /// Higher is more specific; the most specific matching intention decides.
    public var specificity: Int {
        switch self {
        case .any: return 0
        case .namespace: return 1
        case .exact: return 2
        }
    }
}
