internal import COpenSSL
internal import COpenSSLShims

/// A private key held by OpenSSL. Weft issues and accepts EC P-256 keys for
/// workloads; the key never leaves this object except as PEM the caller asked for.
///
/// The `EVP_PKEY` has exactly one owner, this object, which frees it in `deinit`.
public final class PrivateKey: @unchecked Sendable {
    // `@unchecked Sendable`: the key is never mutated after creation, and OpenSSL's
    // EVP_PKEY is safe to use for signing from several threads at once.
    let pointer: OpaquePointer

    private init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// Generates a fresh EC key on NIST P-256 from OpenSSL's CSPRNG.
    public static func generateP256() throws(TLSError) -> PrivateKey {
        guard let key = COpenSSLShims_EVP_EC_gen("P-256") else {
            throw TLSError.fromQueue(.keyGenerationFailed, "EC P-256 key generation")
        }
        return PrivateKey(taking: key)
    }

    /// Parses a PEM private key (PKCS#8 or traditional), decrypting it with
    /// `passphrase` when it is encrypted. Only EC P-256 keys are accepted: the mesh
    /// has one key type, so anything else is a configuration error. An encrypted
    /// key without a passphrase is refused (OpenSSL would otherwise prompt on the
    /// terminal, blocking a server).
    public convenience init(pem: String, passphrase: String? = nil) throws(TLSError) {
        let key = try withReadOnlyBIO(over: pem) { bio throws(TLSError) -> OpaquePointer in
            var secret = Array((passphrase ?? "").utf8CString)
            let parsed = secret.withUnsafeMutableBytes { secret in
                PEM_read_bio_PrivateKey(bio, nil, passphraseCallback, secret.baseAddress)
            }
            guard let parsed else {
                let encrypted = pem.contains("ENCRYPTED")
                throw TLSError.fromQueue(
                    .invalidPEM,
                    encrypted
                        ? (passphrase == nil
                            ? "the private key is encrypted and no passphrase was given"
                            : "the private key does not decrypt with the passphrase given")
                        : "the text is not a PEM private key")
            }
            return parsed
        }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_EC, EVP_PKEY_get_bits(key) == 256 else {
            let bits = EVP_PKEY_get_bits(key)
            EVP_PKEY_free(key)
            throw TLSError(.unsupportedKeyType, "expected an EC P-256 key, got a \(bits)-bit key of another type")
        }
        self.init(taking: key)
    }

    /// The key as PKCS#8 PEM encrypted with AES-256-CBC under `passphrase`
    /// (key derived with PBKDF2, OpenSSL's default for PKCS#8).
    public func encryptedPKCS8PEM(passphrase: String) throws(TLSError) -> String {
        guard !passphrase.isEmpty else { throw TLSError(.invalidInput, "the passphrase is empty") }
        var secret = Array(passphrase.utf8CString)
        return try withMemoryBIO { bio in
            secret.withUnsafeMutableBufferPointer { secret in
                PEM_write_bio_PKCS8PrivateKey(
                    bio, pointer, EVP_aes_256_cbc(), secret.baseAddress, Int32(secret.count - 1), nil, nil) == 1
            }
        }
    }

    /// The key in PKCS#8 PEM form. Handle with care: this is the secret.
    public func pkcs8PEM() throws(TLSError) -> String {
        try withMemoryBIO { bio in
            PEM_write_bio_PrivateKey(bio, pointer, nil, nil, 0, nil, nil) == 1
        }
    }

    /// The matching public key in SubjectPublicKeyInfo PEM form.
    public func publicKeyPEM() throws(TLSError) -> String {
        try withMemoryBIO { bio in
            PEM_write_bio_PUBKEY(bio, pointer) == 1
        }
    }

    /// Key size in bits, as OpenSSL reports it (256 for P-256).
    public var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }
}

/// Runs `body` with a read-only memory BIO over the bytes of `text`.
/// BIO_new_mem_buf borrows the bytes without copying, so the BIO must not
/// outlive this call, where they are pinned.
func withReadOnlyBIO<R>(over text: String, _ body: (OpaquePointer) throws(TLSError) -> R) throws(TLSError) -> R {
    let bytes = Array(text.utf8)
    let result: Result<R, TLSError> = bytes.withUnsafeBytes { raw in
        guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
            return .failure(TLSError.fromQueue(.invalidPEM, "the text is empty or could not be read"))
        }
        defer { BIO_free(bio) }
        do throws(TLSError) {
            return .success(try body(bio))
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}

/// Runs `write` against a fresh memory BIO and returns what it wrote as a string.
func withMemoryBIO(_ write: (OpaquePointer) -> Bool) throws(TLSError) -> String {
    guard let bio = BIO_new(BIO_s_mem()) else {
        throw TLSError.fromQueue(.internalFailure, "allocating a memory BIO")
    }
    defer { BIO_free(bio) }
    guard write(bio) else {
        throw TLSError.fromQueue(.internalFailure, "writing PEM")
    }
    var data: UnsafeMutablePointer<CChar>? = nil
    let length = COpenSSLShims_BIO_get_mem_data(bio, &data)
    guard let data, length > 0 else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: data, count: Int(length)), as: UTF8.self)
}

/// OpenSSL's passphrase callback: copies the NUL-terminated passphrase handed over
/// as user data, never reading a terminal. An empty one fails the decryption.
private let passphraseCallback:
    @convention(c) (
        UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
    ) -> Int32 = { buffer, size, _, userData in
        guard let buffer, let userData else { return -1 }
        let secret = userData.assumingMemoryBound(to: CChar.self)
        let length = Int32(strlen(secret))
        guard length > 0, length <= size else { return -1 }
        memcpy(buffer, secret, Int(length))
        return length
    }
