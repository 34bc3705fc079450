internal import COpenSSL
internal import COpenSSLShims

/// A PKCS#10 certificate signing request (OpenSSL's `X509_REQ`): a public key and
/// the names its holder asks to be certified for, signed with the matching private
/// key. Workloads create one for their SPIFFE ID; the CA parses it, checks the
/// signature and the key, and reads the requested URI.
///
/// The `X509_REQ` has exactly one owner, this object, which frees it in `deinit`.
public final class CertificateRequest: @unchecked Sendable {
    // @unchecked Sendable: never mutated after creation.
    let pointer: OpaquePointer

    private init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        X509_REQ_free(pointer)
    }

    /// A request for `uri` (a SPIFFE ID), signed with `key`.
    public static func create(key: PrivateKey, uri: String, commonName: String? = nil) throws(TLSError)
        -> CertificateRequest
    {
        guard let request = X509_REQ_new() else { throw TLSError.fromQueue(.internalFailure, "allocating a CSR") }
        let owned = CertificateRequest(taking: request)
        guard X509_REQ_set_version(request, 0) == 1, X509_REQ_set_pubkey(request, key.pointer) == 1 else {
            throw TLSError.fromQueue(.internalFailure, "setting the CSR's key")
        }
        if let commonName {
            try addCommonName(commonName, to: X509_REQ_get_subject_name(request))
        }
        let names = try makeURINames([uri])
        defer { COpenSSLShims_GENERAL_NAMES_free(names) }
        guard let extensions = COpenSSLShims_sk_X509_EXTENSION_new_null() else {
            throw TLSError.fromQueue(.internalFailure, "allocating CSR extensions")
        }
        defer { COpenSSLShims_sk_X509_EXTENSION_pop_free(extensions) }
        guard let san = X509V3_EXT_i2d(NID_subject_alt_name, 0, UnsafeMutableRawPointer(names)),
            COpenSSLShims_sk_X509_EXTENSION_push(extensions, san) > 0
        else {
            throw TLSError.fromQueue(.internalFailure, "encoding the subject alternative name")
        }
        guard X509_REQ_add_extensions(request, extensions) == 1 else {
            throw TLSError.fromQueue(.internalFailure, "adding the CSR's extensions")
        }
        guard X509_REQ_sign(request, key.pointer, EVP_sha256()) > 0 else {
            throw TLSError.fromQueue(.internalFailure, "signing the CSR")
        }
        return owned
    }

    /// Parses exactly one PEM `CERTIFICATE REQUEST`. The signature is not checked
    /// here; call `verifySignature()`.
    ///
    /// The PEM armour is read here and the DER handed to `d2i_X509_REQ`:
    /// OpenSSL 3.0's PEM reader costs about 100 µs per request on its own, a
    /// third of a CA's signing time.
    public convenience init(pem: String) throws(TLSError) {
        let der = try Self.derFromPEM(pem)
        let request = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            guard let request = d2i_X509_REQ(nil, &cursor, buffer.count) else { return nil }
            guard cursor == buffer.baseAddress.map({ $0 + buffer.count }) else {
                X509_REQ_free(request)
                return nil
            }
            return request
        }
        guard let request else {
            throw TLSError.fromQueue(.invalidPEM, "the text is not a PEM certificate request")
        }
        self.init(taking: request)
    }

    /// The bytes inside the first `CERTIFICATE REQUEST` (or `NEW CERTIFICATE
    /// REQUEST`) armour; text around it is ignored, as OpenSSL's reader does.
    static func derFromPEM(_ pem: String) throws(TLSError) -> [UInt8] {
        var body: [UInt8] = []
        var inside = false
        var closed = false
        for line in pem.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            var text = Substring(line)
            if text.last == "\r" { text = text.dropLast() }
            if !inside {
                if text == "-----BEGIN CERTIFICATE REQUEST-----" || text == "-----BEGIN NEW CERTIFICATE REQUEST-----" {
                    inside = true
                }
                continue
            }
            if text.hasPrefix("-----END ") {
                guard text == "-----END CERTIFICATE REQUEST-----" || text == "-----END NEW CERTIFICATE REQUEST-----"
                else { break }
                closed = true
                break
            }
            body.append(contentsOf: text.utf8)
        }
        let base64 = body.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
                true
            default: false
            }
        }
        guard closed, !body.isEmpty, body.count % 4 == 0, body.count <= 1 << 20, base64 else {
            throw TLSError(.invalidPEM, "the text is not a PEM certificate request")
        }
        var der = [UInt8](repeating: 0, count: body.count / 4 * 3)
        let decoded = EVP_DecodeBlock(&der, body, Int32(body.count))
        guard decoded >= 0 else {
            throw TLSError.fromQueue(.invalidPEM, "the PEM certificate request's base64 does not decode")
        }
        // EVP_DecodeBlock counts the padding as zero bytes.
        let padding = body.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        guard padding <= 2 else { throw TLSError(.invalidPEM, "the PEM certificate request's base64 does not decode") }
        return Array(der.prefix(Int(decoded) - padding))
    }

    public func pemString() throws(TLSError) -> String {
        try withMemoryBIO { bio in PEM_write_bio_X509_REQ(bio, pointer) == 1 }
    }

    /// Checks that the request was signed by the private key matching its public
    /// key: proof that the requester holds that key.
    public func verifySignature() throws(TLSError) {
        guard let key = X509_REQ_get0_pubkey(pointer) else {
            throw TLSError.fromQueue(.badSignature, "the request carries no usable public key")
        }
        let result = X509_REQ_verify(pointer, key)
        guard result == 1 else {
            throw TLSError.fromQueue(.badSignature, "the request's signature does not verify with its own public key")
        }
    }

    /// The kind of key the request carries.
    public var key: KeyDescription {
        guard let key = X509_REQ_get0_pubkey(pointer) else {
            ERR_clear_error()
            return .other("none")
        }
        return describe(key)
    }

    /// The URI subject alternative names requested, in order.
    public var uriSubjectAlternativeNames: [String] {
        guard let extensions = X509_REQ_get_extensions(pointer) else {
            ERR_clear_error()
            return []
        }
        defer { COpenSSLShims_sk_X509_EXTENSION_pop_free(extensions) }
        guard let raw = X509V3_get_d2i(extensions, NID_subject_alt_name, nil, nil) else {
            ERR_clear_error()
            return []
        }
        let names = OpaquePointer(raw)
        defer { COpenSSLShims_GENERAL_NAMES_free(names) }
        return uriNames(in: names)
    }
}

/// Describes an `EVP_PKEY`'s algorithm and size.
func describe(_ key: OpaquePointer) -> KeyDescription {
    switch EVP_PKEY_get_base_id(key) {
    case EVP_PKEY_RSA:
        return .rsa(bits: Int(EVP_PKEY_get_bits(key)))
    case EVP_PKEY_EC:
        var buffer = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(key, &buffer, buffer.count, &length) == 1 else { return .ec(curve: "unknown") }
        let curve = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return curve == "prime256v1" || curve == "P-256" ? .ecP256 : .ec(curve: curve)
    default:
        let name = EVP_PKEY_get0_type_name(key).map { String(cString: $0) } ?? "unknown"
        return .other(name)
    }
}

/// Builds a GENERAL_NAMES stack of URI entries directly, never through OpenSSL's
/// configuration-string syntax: there, a URI holding a comma
/// (`spiffe://a/ns/b/sa/c,DNS:evil.example`) would smuggle in a second name.
func makeURINames(_ uris: [String]) throws(TLSError) -> OpaquePointer {
    try makeSubjectAlternativeNames(uris: uris, dnsNames: [], ipAddresses: [])
}

/// URI, DNS and IP address names as a GENERAL_NAMES stack, each built as a
/// structure (see `makeURINames`). IP addresses are IPv4 or IPv6 text.
func makeSubjectAlternativeNames(uris: [String], dnsNames: [String], ipAddresses: [String]) throws(TLSError)
    -> OpaquePointer
{
    for uri in uris where uri.isEmpty || uri.utf8.count > 2048 || !uri.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
        throw TLSError(.invalidInput, "a URI name must be 1 to 2048 printable ASCII characters without spaces")
    }
    for name in dnsNames
    where name.isEmpty || name.utf8.count > 253
        || !name.utf8.allSatisfy({
            DNSNameCharacter.allowed($0)
        })
    {
        throw TLSError(.invalidInput, "a DNS name must be 1 to 253 letters, digits, '-', '.' or a leading '*.'")
    }
    guard let names = COpenSSLShims_sk_GENERAL_NAME_new_null() else {
        throw TLSError.fromQueue(.internalFailure, "allocating subject alternative names")
    }
    // Takes ownership of `value` (an IA5STRING or OCTET STRING).
    func push(_ type: Int32, _ value: UnsafeMutablePointer<ASN1_STRING>) throws(TLSError) {
        guard let name = GENERAL_NAME_new() else {
            ASN1_STRING_free(value)
            COpenSSLShims_GENERAL_NAMES_free(names)
            throw TLSError.fromQueue(.internalFailure, "building a subject alternative name")
        }
        GENERAL_NAME_set0_value(name, type, UnsafeMutableRawPointer(value))
        guard COpenSSLShims_sk_GENERAL_NAME_push(names, name) > 0 else {
            GENERAL_NAME_free(name)
            COpenSSLShims_GENERAL_NAMES_free(names)
            throw TLSError.fromQueue(.internalFailure, "building subject alternative names")
        }
    }
    for (type, text) in uris.map({ (GEN_URI, $0) }) + dnsNames.map({ (GEN_DNS, $0) }) {
        guard let string = ASN1_IA5STRING_new() else {
            COpenSSLShims_GENERAL_NAMES_free(names)
            throw TLSError.fromQueue(.internalFailure, "allocating a name")
        }
        let bytes = Array(text.utf8)
        guard ASN1_STRING_set(string, bytes, Int32(bytes.count)) == 1 else {
            ASN1_IA5STRING_free(string)
            COpenSSLShims_GENERAL_NAMES_free(names)
            throw TLSError.fromQueue(.internalFailure, "building a name")
        }
        try push(type, string)
    }
    for address in ipAddresses {
        guard address.utf8.count <= 45, let octets = a2i_IPADDRESS(address) else {
            ERR_clear_error()
            COpenSSLShims_GENERAL_NAMES_free(names)
            throw TLSError(.invalidInput, "\"\(address.prefix(60))\" is not an IPv4 or IPv6 address")
        }
        try push(GEN_IPADD, octets)
    }
    return names
}

enum DNSNameCharacter {
    static func allowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "*"):
            true
        default: false
        }
    }
}

/// Adds `CN=<name>` to an X509_NAME, refusing control characters.
func addCommonName(_ name: String, to subject: OpaquePointer?) throws(TLSError) {
    guard let subject, !name.isEmpty, name.utf8.count <= 64, !name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F })
    else {
        throw TLSError(.invalidInput, "a common name must be 1 to 64 bytes without control characters")
    }
    guard X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, name, -1, -1, 0) == 1 else {
        throw TLSError.fromQueue(.invalidInput, "setting the common name")
    }
}
