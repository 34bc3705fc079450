internal import COpenSSL

/// Certificates a server chooses between by the name the client asks for (SNI):
/// each one is served for the DNS names in its subject alternative names
/// (`api.example.com`, or `*.example.com` for one label under it), and the first
/// one to clients that name none or a name no certificate has, the way a web
/// server's default host answers them.
///
/// Built once, immutable, and swapped whole (a reload builds a new one): a
/// connection keeps the certificates it started its handshake with.
public struct TLSServerNames: Sendable {
    /// One certificate with what it is served for.
    public struct Entry: Sendable {
        public let names: [String]
        let context: TLSContext
    }

    public let entries: [Entry]
    private let exact: [String: TLSContext]
    /// `*.example.com` is kept under `example.com`.
    private let wildcards: [String: TLSContext]

    /// Builds one context per certificate from `base` (role, versions, ALPN),
    /// each with its own chain and key. Two certificates naming the same host
    /// are refused: which one a client got would depend on their order.
    public init(
        _ certificates: [(chain: [Certificate], key: PrivateKey)], base: TLSConfiguration
    ) throws(TLSError) {
        guard !certificates.isEmpty else { throw TLSError(.invalidInput, "a server needs a certificate") }
        var entries: [Entry] = []
        var exact: [String: TLSContext] = [:]
        var wildcards: [String: TLSContext] = [:]
        for (index, certificate) in certificates.enumerated() {
            var configuration = base
            configuration.certificateChain = certificate.chain
            configuration.privateKey = certificate.key
            let context = try TLSContext(configuration)
            let leaf = certificate.chain.first
            var names = leaf?.dnsSubjectAlternativeNames ?? []
            if names.isEmpty, let common = leaf?.subjectCommonName?.lowercased(), !common.isEmpty {
                names = [common]  // an old certificate with its host in the CN only
            }
            for name in names {
                let wildcard = name.hasPrefix("*.")
                let key = wildcard ? String(name.dropFirst(2)) : name
                guard (wildcard ? wildcards[key] : exact[key]) == nil else {
                    throw TLSError(
                        .invalidInput,
                        "certificate \(index + 1) names \(name), which an earlier certificate already serves")
                }
                if wildcard { wildcards[key] = context } else { exact[key] = context }
            }
            entries.append(Entry(names: names, context: context))
        }
        self.entries = entries
        self.exact = exact
        self.wildcards = wildcards
    }

    /// The context for `serverName` (an exact name first, then a wildcard one
    /// label up), or nil for the default.
    func context(for serverName: String) -> TLSContext? {
        let name = serverName.lowercased()
        if let context = exact[name] { return context }
        guard let dot = name.firstIndex(of: "."), !wildcards.isEmpty else { return nil }
        return wildcards[String(name[name.index(after: dot)...])]
    }

    /// The context a server starts each handshake with: the first certificate,
    /// switching to another when the client's SNI names it.
    public func makeContext() throws(TLSError) -> TLSContext {
        try TLSContext(entries[0].context.configuration, serverNames: self)
    }
}

/// OpenSSL's servername callback: switches the connection to the certificate
/// for the name the client sent, if one has it.
func selectServerName(
    _ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let ssl, let argument, let raw = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else {
        return SSL_TLSEXT_ERR_OK
    }
    let context = Unmanaged<TLSContext>.fromOpaque(argument).takeUnretainedValue()
    if let chosen = context.serverNames?.context(for: String(cString: raw)) {
        // Up-refs the chosen SSL_CTX for as long as the connection lives.
        _ = SSL_set_SSL_CTX(ssl, chosen.pointer)
    }
    return SSL_TLSEXT_ERR_OK
}
