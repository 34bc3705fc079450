internal import COpenSSL
internal import COpenSSLShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An X.509 certificate held by OpenSSL, with the parts the mesh reads: the URI
/// subject alternative names (where a SPIFFE ID lives), the serial, the validity
/// window and whether it may sign other certificates.
///
/// The `X509` has exactly one owner, this object, which frees it in `deinit`.
public final class Certificate: @unchecked Sendable {
    // @unchecked Sendable: never mutated after creation; OpenSSL's X509 is safe for
    // concurrent reads once built (its cached extension data is set up under a lock).
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        X509_free(pointer)
    }

    /// Parses exactly one PEM certificate.
    public convenience init(pem: String) throws(TLSError) {
        let chain = try Certificate.chain(pem: pem)
        guard chain.count == 1 else {
            throw TLSError(.invalidPEM, "expected one certificate, found \(chain.count)")
        }
        // The array must outlive the copy: in optimized builds its last use is
        // reading the pointer, and the original would be freed before X509_dup.
        let copy = withExtendedLifetime(chain) { X509_dup(chain[0].pointer) }
        guard let copy else { throw TLSError.fromQueue(.internalFailure, "copying a certificate") }
        self.init(taking: copy)
    }

    /// Parses one or more concatenated PEM certificates, in order.
    public static func chain(pem: String) throws(TLSError) -> [Certificate] {
        let certificates = try withReadOnlyBIO(over: pem) { bio throws(TLSError) -> [Certificate] in
            var certificates: [Certificate] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                certificates.append(Certificate(taking: certificate))
            }
            return certificates
        }
        // Reading stops with "no start line" at the end of the input: expected once
        // at least one certificate was read; anything else is a real error.
        let reasons = drainOpenSSLErrorQueue()
        guard !certificates.isEmpty else {
            throw TLSError(.invalidPEM, "the text holds no PEM certificate", openSSLReasons: reasons)
        }
        if reasons.contains(where: { !$0.contains("no start line") }) {
            throw TLSError(
                .invalidPEM, "a PEM certificate after the first \(certificates.count) is malformed",
                openSSLReasons: reasons)
        }
        return certificates
    }

    /// The certificate in PEM form.
    public func pemString() throws(TLSError) -> String {
        try withMemoryBIO { bio in PEM_write_bio_X509(bio, pointer) == 1 }
    }

    /// SHA-256 of the certificate's DER encoding, lowercase hex without
    /// separators: what `--ca-fingerprint` pins (`openssl x509 -fingerprint
    /// -sha256` prints the same bytes, uppercase with colons).
    public var sha256Fingerprint: String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard X509_digest(pointer, EVP_sha256(), &digest, &length) == 1 else { return "" }
        return digest.prefix(Int(length)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The serial number in lowercase hex without leading zeros.
    public var serialHex: String {
        guard let serial = X509_get_serialNumber(pointer), let number = ASN1_INTEGER_to_BN(serial, nil) else {
            return "0"
        }
        defer { BN_free(number) }
        guard let hex = BN_bn2hex(number) else { return "0" }
        defer { COpenSSLShims_OPENSSL_free(hex) }
        var text = Substring(String(cString: hex).lowercased())
        while text.count > 1 && text.first == "0" { text = text.dropFirst() }
        return String(text)
    }

    /// Start of validity, in seconds since the Unix epoch.
    public var notBefore: Int64 { Self.epochSeconds(X509_get0_notBefore(pointer)) }

    /// End of validity, in seconds since the Unix epoch.
    public var notAfter: Int64 { Self.epochSeconds(X509_get0_notAfter(pointer)) }

    /// Whether this certificate may sign others (basic constraints CA:TRUE).
    public var isCertificateAuthority: Bool { X509_check_ca(pointer) > 0 }

    /// Whether the certificate is self-issued and its signature verifies with its
    /// own key: a root.
    public var isSelfSigned: Bool {
        guard X509_check_issued(pointer, pointer) == X509_V_OK, let key = X509_get0_pubkey(pointer) else {
            ERR_clear_error()
            return false
        }
        let verified = X509_verify(pointer, key) == 1
        ERR_clear_error()
        return verified
    }

    /// The URI subject alternative names, in order (`spiffe://…` for Weft
    /// workloads). Names that are not printable ASCII are skipped: no valid SPIFFE
    /// ID contains such bytes.
    public var uriSubjectAlternativeNames: [String] {
        guard let raw = X509_get_ext_d2i(pointer, NID_subject_alt_name, nil, nil) else {
            ERR_clear_error()
            return []
        }
        let names = OpaquePointer(raw)
        defer { COpenSSLShims_GENERAL_NAMES_free(names) }
        return uriNames(in: names)
    }

    /// The DNS subject alternative names, in order and lowercased: the host
    /// names a server certificate is good for. Names that are not printable
    /// ASCII are skipped.
    public var dnsSubjectAlternativeNames: [String] {
        guard let raw = X509_get_ext_d2i(pointer, NID_subject_alt_name, nil, nil) else {
            ERR_clear_error()
            return []
        }
        let names = OpaquePointer(raw)
        defer { COpenSSLShims_GENERAL_NAMES_free(names) }
        var hosts: [String] = []
        for index in 0..<COpenSSLShims_sk_GENERAL_NAME_num(names) {
            guard let name = COpenSSLShims_sk_GENERAL_NAME_value(names, index), name.pointee.type == GEN_DNS,
                let string = name.pointee.d.dNSName, let data = ASN1_STRING_get0_data(string)
            else { continue }
            let bytes = UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string)))
            guard !bytes.isEmpty, bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { continue }
            hosts.append(String(decoding: bytes, as: UTF8.self).lowercased())
        }
        return hosts
    }

    /// The subject's common name, if any (informational; identity is the URI SAN).
    public var subjectCommonName: String? {
        guard let name = X509_get_subject_name(pointer) else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        let length = X509_NAME_get_text_by_NID(name, NID_commonName, &buffer, Int32(buffer.count))
        guard length >= 0 else { return nil }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The certificate's public key in SubjectPublicKeyInfo PEM form.
    public func publicKeyPEM() throws(TLSError) -> String {
        guard let key = X509_get0_pubkey(pointer) else {
            throw TLSError.fromQueue(.internalFailure, "reading the certificate's public key")
        }
        return try withMemoryBIO { bio in PEM_write_bio_PUBKEY(bio, key) == 1 }
    }

    static func epochSeconds(_ time: UnsafePointer<ASN1_TIME>?) -> Int64 {
        guard let time else { return 0 }
        var broken = tm()
        guard ASN1_TIME_to_tm(time, &broken) == 1 else { return 0 }
        return Int64(timegm(&broken))
    }
}

/// The URI entries of a GENERAL_NAMES stack, as printable-ASCII strings.
func uriNames(in names: OpaquePointer) -> [String] {
    var uris: [String] = []
    for index in 0..<COpenSSLShims_sk_GENERAL_NAME_num(names) {
        guard let name = COpenSSLShims_sk_GENERAL_NAME_value(names, index), name.pointee.type == GEN_URI,
            let string = name.pointee.d.uniformResourceIdentifier, let data = ASN1_STRING_get0_data(string)
        else { continue }
        let bytes = UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string)))
        guard bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { continue }
        uris.append(String(decoding: bytes, as: UTF8.self))
    }
    return uris
}
