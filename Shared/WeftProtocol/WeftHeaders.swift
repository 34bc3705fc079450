/// HTTP header names Weft reads or writes. Weft's own share the `x-weft-` prefix;
/// trace context is W3C's; the deadline also honours gRPC's `grpc-timeout`.
public enum WeftHeaders {
    public static let prefix = "x-weft-"

    /// Milliseconds left of the caller's deadline; every hop lowers it by the time
    /// it spent and refuses work whose deadline has passed.
    public static let deadline = "x-weft-deadline-ms"
    /// The attempt number of a retried request (1 for the first retry).
    public static let retryAttempt = "x-weft-retry-attempt"
    /// The route rule that took a request, set on responses from a gateway.
    public static let route = "x-weft-route"
    /// Set on responses a proxy generated itself (503 shed, 403 denied), so that
    /// an application's own errors can be told apart.
    public static let proxyGenerated = "x-weft-proxy"

    /// The caller's SPIFFE ID, set by the inbound sidecar from the caller's verified
    /// certificate. Whatever a client sends under this name is removed first, so
    /// an application may trust it.
    public static let callerIdentity = "x-weft-caller-identity"
    /// Why a proxy answered a request itself (`no-endpoints`, `denied`, …), on the
    /// responses it generates.
    public static let error = "x-weft-error"

    public static let traceParent = "traceparent"
    public static let traceState = "tracestate"
    public static let grpcTimeout = "grpc-timeout"
    public static let retryAfter = "retry-after"
}
