internal import COpenSSL
internal import COpenSSLShims
internal import NIOCore

/// One TLS session: an OpenSSL `SSL*` driven entirely through memory BIOs.
/// Ciphertext from the network goes in with `receive(_:)`, ciphertext for the
/// network comes out of `drainOutput(allocator:)`; OpenSSL never sees a socket, so
/// all I/O and threading stay with the NIO handler that owns this object.
///
/// The `SSL*` (which owns both BIOs) has exactly one owner, this object.
final class TLSConnection {
    let context: TLSContext
    private let ssl: OpaquePointer
    /// OpenSSL reads ciphertext from here (we write into it).
    private let networkIn: OpaquePointer
    /// OpenSSL writes ciphertext here (we read from it).
    private let networkOut: OpaquePointer
    /// The `spiffe://` identity the peer must present (clients dialling a service).
    let expectedPeerIdentity: String?

    /// Why verification refused the peer, in Weft's words, when it did.
    private(set) var verificationFailure: String?
    /// The peer's SPIFFE ID, once its certificate has been verified.
    private(set) var peerIdentity: String?

    enum Step {
        case complete
        case wantsMore
        case failed(TLSError)
    }

    init(context: TLSContext, expectedPeerIdentity: String? = nil, serverName: String? = nil) throws(TLSError) {
        guard let ssl = SSL_new(context.pointer) else {
            throw TLSError.fromQueue(.internalFailure, "allocating an SSL session")
        }
        guard let networkIn = BIO_new(BIO_s_mem()), let networkOut = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.fromQueue(.internalFailure, "allocating memory BIOs")
        }
        SSL_set_bio(ssl, networkIn, networkOut)  // the SSL now owns both BIOs
        self.context = context
        self.ssl = ssl
        self.networkIn = networkIn
        self.networkOut = networkOut
        self.expectedPeerIdentity = expectedPeerIdentity
        switch context.configuration.role {
        case .client:
            SSL_set_connect_state(ssl)
            if let serverName {
                // SSL_set_tlsext_host_name (a macro over SSL_ctrl) copies the name.
                _ = serverName.withCString { name in
                    SSL_ctrl(
                        ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name),
                        UnsafeMutableRawPointer(mutating: name))
                }
            }
        case .server:
            SSL_set_accept_state(ssl)
        }
        // The verify callback finds this object through the SSL's ex_data; the SSL
        // never outlives `self`, so the pointer is unretained.
        SSL_set_ex_data(ssl, connectionDataIndex, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        SSL_free(ssl)
    }

    // MARK: Bytes in and out

    /// Hands ciphertext read from the network to OpenSSL.
    func receive(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            // A memory BIO grows as needed; it takes everything.
            _ = BIO_write(networkIn, base, Int32(bytes.count))
        }
    }

    /// Ciphertext OpenSSL wants sent, or nil when there is none.
    func drainOutput(allocator: ByteBufferAllocator) -> ByteBuffer? {
        let pending = Int(BIO_ctrl_pending(networkOut))
        guard pending > 0 else { return nil }
        var buffer = allocator.buffer(capacity: pending)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { bytes in
            Int(max(0, BIO_read(networkOut, bytes.baseAddress, Int32(pending))))
        }
        return buffer
    }

    // MARK: Handshake

    func handshake() -> Step {
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .complete }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wantsMore
        default:
            return .failed(handshakeError())
        }
    }

    private func handshakeError() -> TLSError {
        let reasons = drainOpenSSLErrorQueue()
        if let verificationFailure {
            return TLSError(.verificationFailed, verificationFailure, openSSLReasons: reasons)
        }
        let verifyResult = SSL_get_verify_result(ssl)
        if verifyResult != X509_V_OK {
            let reason = String(cString: X509_verify_cert_error_string(verifyResult))
            return TLSError(.verificationFailed, reason, openSSLReasons: reasons)
        }
        return TLSError(.handshakeFailed, "the TLS handshake failed", openSSLReasons: reasons)
    }

    /// The verify callback's work: OpenSSL has checked the chain's signatures and
    /// validity (`preverified`); Weft adds revocation and identity.
    func verify(preverified: Bool, store: OpaquePointer) -> Bool {
        let depth = X509_STORE_CTX_get_error_depth(store)
        guard preverified else {
            let code = X509_STORE_CTX_get_error(store)
            verificationFailure = verificationFailure ?? String(cString: X509_verify_cert_error_string(Int(code)))
            return false
        }
        guard let current = X509_STORE_CTX_get_current_cert(store) else { return false }
        let certificate = Certificate(taking: X509_dup(current))
        let configuration = context.configuration
        if configuration.revokedSerials.contains(certificate.serialHex) {
            verificationFailure = "certificate serial \(certificate.serialHex) is revoked"
            X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REVOKED)
            return false
        }
        guard depth == 0 else { return true }
        let identities = certificate.uriSubjectAlternativeNames.filter { $0.hasPrefix("spiffe://") }
        if configuration.requireSPIFFEIdentity || expectedPeerIdentity != nil {
            guard identities.count == 1, let identity = identities.first else {
                verificationFailure =
                    "the peer certificate carries \(identities.count) SPIFFE IDs; a Weft workload has exactly one"
                X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
                return false
            }
            if let trustDomain = configuration.trustDomain, !identity.hasPrefix("spiffe://\(trustDomain)/") {
                verificationFailure = "the peer is \(identity), outside this mesh's trust domain \(trustDomain)"
                X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
                return false
            }
            if let expected = expectedPeerIdentity, identity != expected {
                verificationFailure = "the peer is \(identity), not the expected \(expected)"
                X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
                return false
            }
        }
        peerIdentity = identities.first
        return true
    }

    // MARK: Application data

    enum ReadResult {
        /// Plaintext (possibly empty) and whether the peer sent close_notify.
        case data(ByteBuffer, closed: Bool)
        case failed(TLSError)
    }

    /// Everything OpenSSL can decrypt from what it has received so far.
    func readPlaintext(allocator: ByteBufferAllocator) -> ReadResult {
        var output = allocator.buffer(capacity: 0)
        while true {
            output.reserveCapacity(minimumWritableBytes: 16 * 1024)
            var status: Int32 = SSL_ERROR_NONE
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { bytes in
                let count = SSL_read(ssl, bytes.baseAddress, Int32(bytes.count))
                if count > 0 { return Int(count) }
                status = SSL_get_error(ssl, count)
                return 0
            }
            switch status {
            case SSL_ERROR_NONE:
                continue
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return .data(output, closed: false)
            case SSL_ERROR_ZERO_RETURN:
                return .data(output, closed: true)
            default:
                return .failed(TLSError.fromQueue(.protocolFailure, "reading a TLS record"))
            }
        }
    }

    /// Encrypts `buffer`; the ciphertext is then waiting in `drainOutput`.
    func writePlaintext(_ buffer: ByteBuffer) -> TLSError? {
        buffer.withUnsafeReadableBytes { bytes in
            guard !bytes.isEmpty else { return nil }
            // Without partial writes, SSL_write takes all or fails; a memory BIO never
            // pushes back, so failure means a real error.
            let written = SSL_write(ssl, bytes.baseAddress, Int32(bytes.count))
            guard written == Int32(bytes.count) else {
                return TLSError.fromQueue(.protocolFailure, "encrypting application data")
            }
            return nil
        }
    }

    /// Queues our close_notify.
    func shutdown() {
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    // MARK: What was negotiated

    var negotiatedApplicationProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    var peerCertificate: Certificate? {
        SSL_get1_peer_certificate(ssl).map { Certificate(taking: $0) }
    }

    var negotiatedVersion: String { String(cString: SSL_get_version(ssl)) }
}
