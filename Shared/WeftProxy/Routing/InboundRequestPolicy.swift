public import WeftHTTP2
public import WeftProtocol

/// What the inbound side does to every request before it reaches the application,
/// in this order:
///
/// 1. **Authorize** the caller, whose identity comes from its certificate (never
///    from a header), against the intentions guarding this service and the mesh
///    default (deny unless allowed). A refusal is a 403 `denied`.
/// 2. **Identity**: `x-weft-caller-identity` is removed, whoever set it, and set to
///    the verified identity: the application can trust it.
/// 3. **Forwarding headers**: the caller's address is appended to
///    `x-forwarded-for`; `x-forwarded-proto` is set when absent (the mesh hop is
///    `https`).
/// 4. **Trace context**: a valid `traceparent` passes through; a missing or
///    malformed one is replaced by a new trace (the `tracestate` of a malformed one
///    goes with it, as W3C Trace Context asks).
///
/// HTTP/2 carries no hop-by-hop fields (nghttp2 refuses streams that do), and the
/// HTTP/1.1 translation drops them, so none crosses.
public struct InboundRequestPolicy: Sendable {
    /// This service, for the 403's wording.
    public let service: ServiceReference

    public init(service: ServiceReference) {
        self.service = service
    }

    /// `callerIdentity` is `caller` as text, when the connection formatted it
    /// once for all its requests.
    public func prepare(
        _ headers: [HTTP2Header], caller: SPIFFEID?, callerIdentity: String? = nil, peerAddress: String?,
        snapshot: ProxySnapshot, traceIDs: TraceIDGenerator
    ) -> Result<[HTTP2Header], ProxyError> {
        guard let caller else {
            return .failure(.denied("the caller presented no Weft identity"))
        }
        let method = headers[first: ":method"] ?? ""
        let path = headers[first: ":path"] ?? "/"
        let verdict = snapshot.authorize(caller: caller, method: Substring(method), path: Substring(path)) { name in
            headers[first: name].map { Substring($0) }
        }
        guard verdict.action == .allow else {
            return .failure(.denied("\(caller) may not call \(service) (decided by \(verdict.rule))"))
        }
        if let left = Deadline.requested(in: headers), left <= .zero {
            return .failure(.deadlineExceeded("the request's deadline had passed when it reached \(service)"))
        }
        var result: [HTTP2Header] = []
        result.reserveCapacity(headers.count + 3)
        var forwardedFor: String?
        var hasProto = false
        var traceValid = false
        for header in headers {
            switch header.name {
            case WeftHeaders.callerIdentity:
                continue
            case "x-forwarded-for":
                forwardedFor = forwardedFor.map { $0 + ", " + header.value } ?? header.value
                continue
            case "x-forwarded-proto":
                hasProto = true
            case WeftHeaders.traceParent:
                traceValid = Self.isValidTraceParent(header.value)
                if !traceValid { continue }
            case WeftHeaders.traceState:
                break
            default:
                break
            }
            result.append(header)
        }
        if !traceValid { result.removeAll { $0.name == WeftHeaders.traceState } }
        result.append(HTTP2Header(WeftHeaders.callerIdentity, callerIdentity ?? caller.description))
        if let peerAddress {
            result.append(HTTP2Header("x-forwarded-for", forwardedFor.map { $0 + ", " + peerAddress } ?? peerAddress))
        } else if let forwardedFor {
            result.append(HTTP2Header("x-forwarded-for", forwardedFor))
        }
        if !hasProto { result.append(HTTP2Header("x-forwarded-proto", "https")) }
        if !traceValid { result.append(HTTP2Header(WeftHeaders.traceParent, traceIDs.traceParent())) }
        return .success(result)
    }

    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, ids not all zero.
    static func isValidTraceParent(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
            bytes[52] == UInt8(ascii: "-")
        else { return false }
        func isHex(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        }
        for (index, byte) in bytes.enumerated() where ![2, 35, 52].contains(index) {
            guard isHex(byte) else { return false }
        }
        guard bytes[0..<2] != [UInt8(ascii: "f"), UInt8(ascii: "f")] else { return false }
        let zero = UInt8(ascii: "0")
        return bytes[3..<35].contains { $0 != zero } && bytes[36..<52].contains { $0 != zero }
    }
}
