internal import COpenSSL
internal import COpenSSLShims

/// Verifies certificate chains against a set of trusted roots (a trust bundle,
/// which holds several roots while one rotates).
///
/// The `X509_STORE` has exactly one owner, this object.
public final class CertificateVerifier: @unchecked Sendable {
    // @unchecked Sendable: the store is filled in init and only read afterwards;
    // OpenSSL's X509_STORE is safe for concurrent verification.
    private let store: OpaquePointer
    public let roots: [Certificate]

    public init(roots: [Certificate]) throws(TLSError) {
        guard !roots.isEmpty else { throw TLSError(.invalidInput, "a trust bundle needs at least one root") }
        guard let store = X509_STORE_new() else {
            throw TLSError.fromQueue(.internalFailure, "allocating a trust store")
        }
        self.store = store
        self.roots = roots
        for root in roots where X509_STORE_add_cert(store, root.pointer) != 1 {
            throw TLSError.fromQueue(.invalidInput, "adding a root to the trust store")
        }
    }

    deinit {
        X509_STORE_free(store)
    }

    /// Verifies that `leaf`, with the `intermediates` it presented, chains to one
    /// of the roots and is valid at `time` (seconds since the epoch; now if nil).
    /// Throws `.verificationFailed` with OpenSSL's reason.
    public func verify(_ leaf: Certificate, intermediates: [Certificate] = [], at time: Int64? = nil) throws(TLSError) {
        guard let context = X509_STORE_CTX_new() else {
            throw TLSError.fromQueue(.internalFailure, "allocating a verification context")
        }
        defer { X509_STORE_CTX_free(context) }
        guard let untrusted = COpenSSLShims_sk_X509_new_null() else {
            throw TLSError.fromQueue(.internalFailure, "allocating the chain")
        }
        // The stack borrows the certificates; `intermediates` keeps them alive.
        defer { COpenSSLShims_sk_X509_free(untrusted) }
        for certificate in intermediates where COpenSSLShims_sk_X509_push(untrusted, certificate.pointer) <= 0 {
            throw TLSError.fromQueue(.internalFailure, "building the chain")
        }
        guard X509_STORE_CTX_init(context, store, leaf.pointer, untrusted) == 1 else {
            throw TLSError.fromQueue(.internalFailure, "initialising verification")
        }
        if let time { X509_STORE_CTX_set_time(context, 0, time_t(time)) }
        let verified = withExtendedLifetime(intermediates) { X509_verify_cert(context) }
        guard verified == 1 else {
            let code = X509_STORE_CTX_get_error(context)
            let reason = String(cString: X509_verify_cert_error_string(Int(code)))
            ERR_clear_error()
            throw TLSError(.verificationFailed, reason)
        }
    }
}
