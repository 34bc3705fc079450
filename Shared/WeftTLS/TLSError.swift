internal import COpenSSL

/// An error from WeftTLS. OpenSSL's own reason strings are carried verbatim in
/// `openSSLReasons` so that operators see exactly what OpenSSL objected to.
public struct TLSError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Equatable, Sendable {
        case keyGenerationFailed
        case invalidPEM
        case unsupportedKeyType
        /// A certificate or request could not be built or signed (bad input to the
        /// builder, such as a URI that is not printable ASCII).
        case invalidInput
        /// A CSR whose signature does not verify against its own public key.
        case badSignature
        /// A chain that does not verify against the trust bundle; the context
        /// holds OpenSSL's verification error (`certificate has expired`, …).
        case verificationFailed
        /// The handshake failed for another reason (no shared protocol version or
        /// cipher, no common ALPN protocol, a malformed record, the peer's alert).
        case handshakeFailed
        /// The peer did not finish the handshake in time.
        case handshakeTimeout
        /// The connection closed without a TLS close_notify (possible truncation).
        case uncleanShutdown
        /// A TLS record after the handshake could not be processed.
        case protocolFailure
        /// A write after the connection started closing.
        case closed
        case internalFailure
    }

    public var kind: Kind
    /// What Weft was doing when OpenSSL failed.
    public var context: String
    /// OpenSSL's error queue at the time of the failure, oldest first.
    public var openSSLReasons: [String]

    public init(_ kind: Kind, _ context: String, openSSLReasons: [String] = []) {
        self.kind = kind
        self.context = context
        self.openSSLReasons = openSSLReasons
    }

    public var description: String {
        if openSSLReasons.isEmpty { return "\(kind.rawValue): \(context)" }
        return "\(kind.rawValue): \(context) (\(openSSLReasons.joined(separator: "; ")))"
    }

    /// Builds an error from the thread's OpenSSL error queue, draining it so that a
    /// later failure does not report stale reasons.
    static func fromQueue(_ kind: Kind, _ context: String) -> TLSError {
        TLSError(kind, context, openSSLReasons: drainOpenSSLErrorQueue())
    }
}

/// Empties OpenSSL's per-thread error queue, returning each entry's reason string.
func drainOpenSSLErrorQueue() -> [String] {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return reasons
}
