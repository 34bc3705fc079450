/// The paths of Weft's HTTP APIs, versioned under `/v1`. Servers route on these and
/// clients build URLs from them, so the two cannot drift apart.
public enum APIPaths {
    public static let version = "/v1"
    public static let openAPI = "/v1/openapi.json"
    public static let health = "/healthz"
    public static let ready = "/readyz"
    public static let metrics = "/metrics"

    // Registry
    public static let services = "/v1/services"
    public static let instances = "/v1/instances"
    public static let routes = "/v1/routes"
    public static let policies = "/v1/policies"
    public static let intentions = "/v1/intentions"
    public static let defaults = "/v1/defaults"
    public static let audit = "/v1/audit"
    public static let discovery = "/v1/discovery"

    // CA
    public static let sign = "/v1/certificates/sign"
    public static let certificates = "/v1/certificates"
    public static let bundle = "/v1/bundle"
    public static let joinTokens = "/v1/join-tokens"
    public static let roots = "/v1/roots"
}
