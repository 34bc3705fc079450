internal import COpenSSL
internal import COpenSSLShims

/// An OpenSSL `SSL_CTX` built from a `TLSConfiguration`: protocol versions, our
/// certificate and key, the trust roots, peer verification and ALPN. Immutable
/// once built and shared by every connection made from it.
///
/// Peer verification runs inside the handshake (OpenSSL's verify callback), so a
/// revoked or misidentified peer gets a TLS alert rather than a silent close:
/// the chain must lead to a trust root, no certificate in it may be revoked, and
/// with `requireSPIFFEIdentity` the leaf must carry exactly one `spiffe://` URI
/// (and the one the connection expects, when it expects one).
///
/// The `SSL_CTX` has exactly one owner, this object, which frees it in `deinit`.
public final class TLSContext: @unchecked Sendable {
    // @unchecked Sendable: configured in init, then only read. SSL_CTX is safe to
    // share between connections on several threads.
    let pointer: OpaquePointer
    public let configuration: TLSConfiguration
    /// Our ALPN list in wire format (length-prefixed), owned here because OpenSSL
    /// keeps pointing into it during handshakes.
    private let alpnWire: UnsafeMutableBufferPointer<UInt8>
    /// Other certificates, chosen by the client's SNI (servers only).
    let serverNames: TLSServerNames?

    /// - Parameter serverNames: certificates to switch to when a client names
    ///   one of theirs (see `TLSServerNames.makeContext()`).
    public init(_ configuration: TLSConfiguration, serverNames: TLSServerNames? = nil) throws(TLSError) {
        guard let pointer = SSL_CTX_new(TLS_method()) else {
            throw TLSError.fromQueue(.internalFailure, "allocating an SSL_CTX")
        }
        self.pointer = pointer
        self.configuration = configuration
        self.serverNames = serverNames
        var wire: [UInt8] = []
        for name in configuration.applicationProtocols {
            guard (1...255).contains(name.utf8.count) else {
                alpnWire = UnsafeMutableBufferPointer(start: nil, count: 0)
                throw TLSError(.invalidInput, "ALPN protocol names are 1 to 255 bytes")
            }
            wire.append(UInt8(name.utf8.count))
            wire.append(contentsOf: name.utf8)
        }
        alpnWire = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(wire.count, 1))
        _ = alpnWire.initialize(from: wire)
        try configure(wireLength: wire.count)
    }

    deinit {
        SSL_CTX_free(pointer)
        alpnWire.deallocate()
    }

    private func configure(wireLength: Int) throws(TLSError) {
        let minimum = configuration.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        guard COpenSSLShims_SSL_CTX_set_min_proto_version(pointer, minimum) == 1,
            COpenSSLShims_SSL_CTX_set_max_proto_version(pointer, TLS1_3_VERSION) == 1
        else { throw TLSError.fromQueue(.internalFailure, "setting protocol versions") }
        // No TLS 1.2 renegotiation (a DoS and confusion vector); release idle buffers.
        _ = SSL_CTX_set_options(pointer, UInt64(1) << 30)
        _ = COpenSSLShims_SSL_CTX_set_mode(pointer, 0x10)

        if let leaf = configuration.certificateChain.first {
            guard let key = configuration.privateKey else {
                throw TLSError(.invalidInput, "a certificate needs its private key")
            }
            guard SSL_CTX_use_certificate(pointer, leaf.pointer) == 1 else {
                throw TLSError.fromQueue(.invalidInput, "loading our certificate")
            }
            for intermediate in configuration.certificateChain.dropFirst()
            where COpenSSLShims_SSL_CTX_add1_chain_cert(pointer, intermediate.pointer) != 1 {
                throw TLSError.fromQueue(.invalidInput, "loading an intermediate certificate")
            }
            guard SSL_CTX_use_PrivateKey(pointer, key.pointer) == 1, SSL_CTX_check_private_key(pointer) == 1 else {
                throw TLSError.fromQueue(.invalidInput, "the private key does not match the certificate")
            }
        } else if configuration.role == .server {
            throw TLSError(.invalidInput, "a server needs a certificate")
        }

        if configuration.role == .client && !configuration.verifyPeer {
            guard !configuration.requireSPIFFEIdentity else {
                throw TLSError(.invalidInput, "a client that does not verify its peer cannot require its identity")
            }
            SSL_CTX_set_verify(pointer, SSL_VERIFY_NONE, nil)
        } else if configuration.trustRoots.isEmpty {
            // A server without roots does not ask for client certificates (a public
            // TLS port). A client without roots could not verify the server at all,
            // and nothing requiring peer certificates can work without roots.
            guard configuration.role == .server, !configuration.requirePeerCertificate,
                !configuration.requireSPIFFEIdentity
            else {
                throw TLSError(.invalidInput, "verifying peers needs at least one trust root")
            }
            SSL_CTX_set_verify(pointer, SSL_VERIFY_NONE, nil)
        } else {
            guard let store = SSL_CTX_get_cert_store(pointer) else {
                throw TLSError.fromQueue(.internalFailure, "reading the trust store")
            }
            for root in configuration.trustRoots where X509_STORE_add_cert(store, root.pointer) != 1 {
                throw TLSError.fromQueue(.invalidInput, "adding a trust root")
            }
            var flags: Int32 = 0
            if !configuration.checkPeerValidityPeriod { flags |= X509_V_FLAG_NO_CHECK_TIME }
            if configuration.trustRootsMayBeIntermediates { flags |= X509_V_FLAG_PARTIAL_CHAIN }
            if flags != 0 {
                guard let parameters = SSL_CTX_get0_param(pointer),
                    X509_VERIFY_PARAM_set_flags(parameters, UInt(flags)) == 1
                else {
                    throw TLSError.fromQueue(.internalFailure, "setting verification flags")
                }
            }
            var mode = SSL_VERIFY_PEER
            if configuration.role == .server && configuration.requirePeerCertificate {
                mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT
            }
            SSL_CTX_set_verify(pointer, mode, verifyPeer)
            if configuration.role == .server {
                // No session resumption on a port that verifies client
                // certificates: a resumed session skips verification, so a
                // certificate revoked since would ride its old session. No
                // tickets are issued, none offered is accepted, no session is
                // cached. (Without this, a client offering a saved session,
                // as nghttpx does on each new backend connection, failed the
                // handshake: "session id context uninitialized".)
                _ = SSL_CTX_set_options(pointer, UInt64(1) << 14)  // SSL_OP_NO_TICKET
                _ = SSL_CTX_set_num_tickets(pointer, 0)
                _ = SSL_CTX_ctrl(pointer, SSL_CTRL_SET_SESS_CACHE_MODE, 0, nil)  // SSL_SESS_CACHE_OFF
                let context = Array("weft-mesh".utf8)
                _ = SSL_CTX_set_session_id_context(pointer, context, UInt32(context.count))
            }
        }

        if serverNames != nil {
            // SSL_CTX_set_tlsext_servername_callback and _arg, macros over the
            // ctrl calls. The argument is unretained: `self` outlives its SSL_CTX.
            let callback:
                @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?)
                    -> Int32 = selectServerName
            _ = SSL_CTX_callback_ctrl(
                pointer, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                unsafeBitCast(callback, to: (@convention(c) () -> Void).self))
            _ = SSL_CTX_ctrl(
                pointer, SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, Unmanaged.passUnretained(self).toOpaque())
        }

        if wireLength > 0 {
            switch configuration.role {
            case .client:
                // Returns 0 on success, unlike most of OpenSSL.
                guard SSL_CTX_set_alpn_protos(pointer, alpnWire.baseAddress, UInt32(wireLength)) == 0 else {
                    throw TLSError.fromQueue(.internalFailure, "setting ALPN protocols")
                }
            case .server:
                SSL_CTX_set_alpn_select_cb(
                    pointer, selectApplicationProtocol, Unmanaged.passUnretained(self).toOpaque())
            }
        }
    }

    /// Picks the first of our protocols the client offers (RFC 7301: no overlap is a
    /// fatal `no_application_protocol` alert).
    fileprivate func select(
        _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ outLength: UnsafeMutablePointer<UInt8>?,
        offered: UnsafePointer<UInt8>?, offeredLength: UInt32
    ) -> Int32 {
        guard let out, let outLength, let ours = alpnWire.baseAddress else { return SSL_TLSEXT_ERR_NOACK }
        let ourLength = UInt32(configuration.applicationProtocols.reduce(0) { $0 + 1 + $1.utf8.count })
        var selected: UnsafeMutablePointer<UInt8>?
        let result = SSL_select_next_proto(&selected, outLength, ours, ourLength, offered, offeredLength)
        guard result == OPENSSL_NPN_NEGOTIATED, let selected else { return SSL_TLSEXT_ERR_ALERT_FATAL }
        out.pointee = UnsafePointer(selected)
        return SSL_TLSEXT_ERR_OK
    }
}

/// The ex_data slot where each SSL* keeps a pointer to its TLSConnection, so the
/// verify callback can find the connection's expectations.
let connectionDataIndex: Int32 = COpenSSLShims_SSL_get_ex_new_index()

private func selectApplicationProtocol(
    _ ssl: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<UInt8>?,
    _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32, _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let argument else { return SSL_TLSEXT_ERR_NOACK }
    let context = Unmanaged<TLSContext>.fromOpaque(argument).takeUnretainedValue()
    return context.select(out, outLength, offered: offered, offeredLength: offeredLength)
}

private func verifyPeer(_ preverified: Int32, _ store: OpaquePointer?) -> Int32 {
    guard let store,
        let sslPointer = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
        let connectionPointer = SSL_get_ex_data(OpaquePointer(sslPointer), connectionDataIndex)
    else { return 0 }
    let connection = Unmanaged<TLSConnection>.fromOpaque(connectionPointer).takeUnretainedValue()
    return connection.verify(preverified: preverified == 1, store: store) ? 1 : 0
}
