/// What kind of public key a CSR or certificate carries, so that the CA can refuse
/// anything but the mesh's one key type with a precise reason.
public enum KeyDescription: Equatable, Sendable, CustomStringConvertible {
    case ecP256
    case ec(curve: String)
    case rsa(bits: Int)
    case other(String)

    public var description: String {
        switch self {
        case .ecP256: return "EC P-256"
        case .ec(let curve): return "EC \(curve)"
        case .rsa(let bits): return "RSA-\(bits)"
        case .other(let name): return name
        }
    }
}
