public import WeftHTTP2

/// Why a proxy could not carry a request, as every layer reports it. One function
/// (`ProxyErrorResponse`) turns these into what the caller sees; no layer writes an
/// error response of its own.
public enum ProxyError: Error, Equatable, Sendable {
    /// The request could not be read or translated (bad Host, bad target).
    case badRequest(String)
    /// The request's header section is larger than the proxy accepts.
    case headersTooLarge(String)
    /// No upstream of that name is known to this proxy.
    case unknownUpstream(String)
    /// No rule of the gateway's route table takes the request.
    case noRoute(String)
    /// The upstream is known but has no endpoint receiving traffic.
    case noEndpoints(String)
    /// Every connection to the upstream is busy and the waiting line is full.
    case overloaded(String)
    /// The endpoint could not be reached (TCP or TLS failed; a peer presenting
    /// the wrong identity is a TLS failure). Nothing was sent.
    case connectFailed(endpoint: String, reason: String)
    /// The upstream refused the stream before processing it (REFUSED_STREAM,
    /// GOAWAY): nothing was done.
    case refused(String)
    /// The stream failed after the request was sent, before a response began.
    case upstreamReset(String)
    /// The upstream's response could not be translated for the caller.
    case badResponse(String)
    /// The caller may not call this service (intentions, mesh default).
    case denied(String)
    /// The local application could not be reached.
    case applicationUnavailable(String)
    /// The proxy is shutting down and takes no new requests.
    case shuttingDown
    /// A circuit breaker's limit toward the upstream is reached (connections,
    /// pending requests, requests): answered at once rather than queued.
    case circuitOpen(String)
    /// The request's deadline passed, or too little of it is left to try.
    case deadlineExceeded(String)
    /// A rate limit refused the request; the caller may try again after
    /// `retryAfter` seconds.
    case rateLimited(String, retryAfter: Int)
    /// A route's fault injection answered with this status.
    case faultInjected(status: Int)
    /// The request's head did not arrive whole in time (slowloris).
    case headerTimeout(String)
    /// The request body is larger than the proxy accepts.
    case bodyTooLarge(String)

    /// The HTTP status, and the short reason that goes in `x-weft-error`.
    public var status: (code: Int, reason: String) {
        switch self {
        case .badRequest: return (400, "bad-request")
        case .headersTooLarge: return (431, "headers-too-large")
        case .unknownUpstream: return (404, "unknown-upstream")
        case .noRoute: return (404, "no-route")
        case .noEndpoints: return (503, "no-endpoints")
        case .overloaded: return (503, "overloaded")
        case .connectFailed: return (503, "connect-failed")
        case .refused: return (503, "upstream-refused")
        case .upstreamReset: return (502, "upstream-reset")
        case .badResponse: return (502, "bad-upstream-response")
        case .denied: return (403, "denied")
        case .applicationUnavailable: return (503, "application-unavailable")
        case .shuttingDown: return (503, "shutting-down")
        case .circuitOpen: return (503, "circuit-open")
        case .deadlineExceeded: return (504, "deadline-exceeded")
        case .rateLimited: return (429, "rate-limited")
        case .faultInjected(let status): return (status, "fault-injected")
        case .headerTimeout: return (408, "header-timeout")
        case .bodyTooLarge: return (413, "body-too-large")
        }
    }

    /// Whether the request was certainly not processed (safe to retry anywhere).
    public var wasRefusedBeforeProcessing: Bool {
        switch self {
        case .unknownUpstream, .noEndpoints, .overloaded, .connectFailed, .refused, .shuttingDown, .circuitOpen,
            .rateLimited:
            return true
        case .noRoute, .badRequest, .headersTooLarge, .upstreamReset, .badResponse, .denied, .applicationUnavailable,
            .deadlineExceeded, .faultInjected, .headerTimeout, .bodyTooLarge:
            return false
        }
    }

    /// One sentence for the problem document's detail and the log.
    public var detail: String {
        switch self {
        case .badRequest(let reason): return reason
        case .headersTooLarge(let reason): return reason
        case .unknownUpstream(let name): return "no upstream named \(name) is known to this proxy"
        case .noRoute(let request): return "no route of this gateway takes \(request)"
        case .noEndpoints(let name): return "\(name) has no endpoint receiving traffic"
        case .overloaded(let name): return "every connection to \(name) is busy and the waiting line is full"
        case .connectFailed(let endpoint, let reason): return "cannot connect to \(endpoint): \(reason)"
        case .refused(let reason): return "the upstream refused the request before processing it: \(reason)"
        case .upstreamReset(let reason): return "the upstream failed the request: \(reason)"
        case .badResponse(let reason): return "the upstream's response is invalid: \(reason)"
        case .denied(let reason): return reason
        case .applicationUnavailable(let reason): return "the local application is unavailable: \(reason)"
        case .shuttingDown: return "the proxy is shutting down"
        case .circuitOpen(let reason): return reason
        case .deadlineExceeded(let reason): return reason
        case .rateLimited(let reason, _): return reason
        case .faultInjected(let status): return "a fault injected by the route answered \(status)"
        case .headerTimeout(let reason): return reason
        case .bodyTooLarge(let reason): return reason
        }
    }

    /// Seconds the caller should wait before trying again, when the proxy knows.
    public var retryAfter: Int? {
        if case .rateLimited(_, let seconds) = self { return seconds }
        return nil
    }

    /// The error of an upstream stream that closed before its response began.
    public static func streamClosed(_ errorCode: HTTP2ErrorCode, upstream: String) -> ProxyError {
        let error = HTTP2Error.streamClosed(0, with: errorCode)
        return error.isSafeToRetry
            ? .refused("\(upstream) answered \(errorCode)")
            : .upstreamReset("\(upstream) reset the stream with \(errorCode)")
    }
}

extension ProxyError: ConnectorRefusal {}
