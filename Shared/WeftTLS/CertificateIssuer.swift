internal import COpenSSL
internal import COpenSSLShims

/// Signs certificates: a self-signed root, intermediates, and workload leaves.
///
/// Every certificate gets a random serial of 20 octets (the RFC 5280 maximum) from
/// OpenSSL's CSPRNG, with the top two bits fixed (positive, and always 20 octets
/// long): 158 random bits,
/// SHA-256 signatures, and subject/authority key identifiers. Authorities carry a
/// critical `CA:TRUE` (with an optional path length) and may only sign
/// certificates and CRLs; leaves carry a critical `CA:FALSE`, digital signature
/// key usage, both server and client authentication (every mesh endpoint is both),
/// and their URI names built directly as GENERAL_NAMEs.
public struct CertificateIssuer: Sendable {
    public let certificate: Certificate
    let key: PrivateKey

    /// An issuer that signs with `key` as `certificate`. The key must match the
    /// certificate, and the certificate must be an authority.
    public init(certificate: Certificate, key: PrivateKey) throws(TLSError) {
        guard certificate.isCertificateAuthority else {
            throw TLSError(.invalidInput, "the issuing certificate is not a certificate authority")
        }
        guard X509_check_private_key(certificate.pointer, key.pointer) == 1 else {
            ERR_clear_error()
            throw TLSError(.invalidInput, "the private key does not match the issuing certificate")
        }
        self.certificate = certificate
        self.key = key
    }

    /// A self-signed root authority.
    public static func selfSignedRoot(
        key: PrivateKey, commonName: String, notBefore: Int64, notAfter: Int64, pathLength: Int? = nil
    ) throws(TLSError) -> CertificateIssuer {
        let root = try build(
            subject: .key(key.pointer), commonName: commonName, uris: [], authority: true, pathLength: pathLength,
            notBefore: notBefore, notAfter: notAfter, issuer: nil, issuerKey: key)
        return try CertificateIssuer(certificate: root, key: key)
    }

    /// An intermediate authority for `key`, signed by this issuer.
    public func intermediate(
        key: PrivateKey, commonName: String, notBefore: Int64, notAfter: Int64, pathLength: Int? = 0
    ) throws(TLSError) -> CertificateIssuer {
        let certificate = try Self.build(
            subject: .key(key.pointer), commonName: commonName, uris: [], authority: true, pathLength: pathLength,
            notBefore: notBefore, notAfter: notAfter, issuer: self.certificate, issuerKey: self.key)
        return try CertificateIssuer(certificate: certificate, key: key)
    }

    /// A workload certificate for the key in `request`, naming `uri`. The caller
    /// (the CA) decides whether the request deserves it; this only signs.
    public func issueLeaf(for request: CertificateRequest, uri: String, notBefore: Int64, notAfter: Int64)
        throws(TLSError) -> Certificate
    {
        guard let key = X509_REQ_get0_pubkey(request.pointer) else {
            throw TLSError.fromQueue(.invalidInput, "the request carries no public key")
        }
        return try Self.build(
            subject: .key(key), commonName: nil, uris: [uri], authority: false, pathLength: nil, notBefore: notBefore,
            notAfter: notAfter, issuer: certificate, issuerKey: self.key)
    }

    /// The same certificate as `issueLeaf(for:uri:notBefore:notAfter:)`, as PEM
    /// with its serial, made faster for a CA: the request's key is copied as
    /// encoded bytes instead of through OpenSSL 3.0's key encoder (about 200 µs
    /// a certificate). The certificate is only serialized here; an in-memory
    /// `Certificate` built that way would lack its decoded key.
    public func issueLeafPEM(for request: CertificateRequest, uri: String, notBefore: Int64, notAfter: Int64)
        throws(TLSError) -> (pem: String, serialHex: String)
    {
        let leaf = try withExtendedLifetime(request) { () throws(TLSError) -> Certificate in
            try Self.build(
                subject: .request(request.pointer), commonName: nil, uris: [uri], authority: false, pathLength: nil,
                notBefore: notBefore, notAfter: notAfter, issuer: certificate, issuerKey: self.key)
        }
        return (try leaf.pemString(), leaf.serialHex)
    }

    /// A workload certificate for `key` directly (tests, and a CA's own serving
    /// certificate, which also names the DNS names and addresses clients such as
    /// curl reach it by).
    public func issueLeaf(
        for key: PrivateKey, uri: String, dnsNames: [String] = [], ipAddresses: [String] = [], notBefore: Int64,
        notAfter: Int64
    ) throws(TLSError) -> Certificate {
        try Self.build(
            subject: .key(key.pointer), commonName: nil, uris: [uri], dnsNames: dnsNames, ipAddresses: ipAddresses,
            authority: false, pathLength: nil, notBefore: notBefore, notAfter: notAfter, issuer: certificate,
            issuerKey: self.key)
    }

    /// Where a new certificate's public key comes from.
    enum Subject {
        /// An EVP_PKEY.
        case key(OpaquePointer)
        /// The key bits of an X509_REQ, copied as encoded (no decode/encode round trip).
        case request(OpaquePointer)
    }

    static func build(
        subject: Subject, commonName: String?, uris: [String], dnsNames: [String] = [],
        ipAddresses: [String] = [], authority: Bool, pathLength: Int?,
        notBefore: Int64, notAfter: Int64, issuer: Certificate?, issuerKey: PrivateKey
    ) throws(TLSError) -> Certificate {
        guard notBefore < notAfter else { throw TLSError(.invalidInput, "notBefore must be before notAfter") }
        if let pathLength, !(0...16).contains(pathLength) {
            throw TLSError(.invalidInput, "path length must be between 0 and 16")
        }
        guard let x509 = X509_new() else { throw TLSError.fromQueue(.internalFailure, "allocating a certificate") }
        let certificate = Certificate(taking: x509)
        guard X509_set_version(x509, 2) == 1 else { throw TLSError.fromQueue(.internalFailure, "setting the version") }
        try setRandomSerial(x509)
        guard ASN1_TIME_set(X509_getm_notBefore(x509), time_t(notBefore)) != nil,
            ASN1_TIME_set(X509_getm_notAfter(x509), time_t(notAfter)) != nil
        else { throw TLSError.fromQueue(.internalFailure, "setting the validity") }
        switch subject {
        case .key(let key):
            guard X509_set_pubkey(x509, key) == 1 else { throw TLSError.fromQueue(.internalFailure, "setting the key") }
        case .request(let request):
            guard COpenSSLShims_X509_set_pubkey_from_request(x509, request) == 1 else {
                throw TLSError.fromQueue(.invalidInput, "the request carries no usable public key")
            }
        }
        if let commonName { try addCommonName(commonName, to: X509_get_subject_name(x509)) }
        let issuerName = issuer.map { X509_get_subject_name($0.pointer) } ?? X509_get_subject_name(x509)
        guard X509_set_issuer_name(x509, issuerName) == 1 else {
            throw TLSError.fromQueue(.internalFailure, "setting the issuer")
        }

        // Extensions. Only constant configuration strings go through
        // X509V3_EXT_conf_nid; names are built as structures (makeURINames).
        var context = X509V3_CTX()
        COpenSSLShims_X509V3_set_ctx_nodb(&context)
        X509V3_set_ctx(&context, issuer?.pointer ?? x509, x509, nil, nil, 0)
        let basic = authority ? "critical,CA:TRUE" + (pathLength.map { ",pathlen:\($0)" } ?? "") : "critical,CA:FALSE"
        try addExtension(x509, &context, NID_basic_constraints, basic)
        if authority {
            try addExtension(x509, &context, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature")
        } else {
            try addExtension(x509, &context, NID_key_usage, "critical,digitalSignature")
            try addExtension(x509, &context, NID_ext_key_usage, "serverAuth,clientAuth")
        }
        try addExtension(x509, &context, NID_subject_key_identifier, "hash")
        if issuer != nil { try addExtension(x509, &context, NID_authority_key_identifier, "keyid:always") }
        if !uris.isEmpty || !dnsNames.isEmpty || !ipAddresses.isEmpty {
            let names = try makeSubjectAlternativeNames(uris: uris, dnsNames: dnsNames, ipAddresses: ipAddresses)
            defer { COpenSSLShims_GENERAL_NAMES_free(names) }
            // RFC 5280 4.2.1.6: with an empty subject the SAN must be critical.
            let critical: Int32 = commonName == nil ? 1 : 0
            guard X509_add1_ext_i2d(x509, NID_subject_alt_name, UnsafeMutableRawPointer(names), critical, 0) == 1 else {
                throw TLSError.fromQueue(.internalFailure, "adding the subject alternative name")
            }
        }
        guard X509_sign(x509, issuerKey.pointer, EVP_sha256()) > 0 else {
            throw TLSError.fromQueue(.internalFailure, "signing the certificate")
        }
        return certificate
    }

    private static func addExtension(_ x509: OpaquePointer, _ context: inout X509V3_CTX, _ nid: Int32, _ value: String)
        throws(TLSError)
    {
        guard let extensionPointer = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
            throw TLSError.fromQueue(.internalFailure, "building extension \(nid)")
        }
        defer { X509_EXTENSION_free(extensionPointer) }
        guard X509_add_ext(x509, extensionPointer, -1) == 1 else {
            throw TLSError.fromQueue(.internalFailure, "adding extension \(nid)")
        }
    }

    private static func setRandomSerial(_ x509: OpaquePointer) throws(TLSError) {
        var bytes = try SecretDigest.randomBytes(count: 20)
        bytes[0] &= 0x7F  // positive
        bytes[0] |= 0x40  // and a full 20 octets, so serials never collide by length
        guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else {
            throw TLSError.fromQueue(.internalFailure, "converting the serial")
        }
        defer { BN_free(number) }
        guard let serial = BN_to_ASN1_INTEGER(number, nil) else {
            throw TLSError.fromQueue(.internalFailure, "encoding the serial")
        }
        defer { ASN1_INTEGER_free(serial) }
        guard X509_set_serialNumber(x509, serial) == 1 else {
            throw TLSError.fromQueue(.internalFailure, "setting the serial")
        }
    }
}
