internal import COpenSSL

/// Random secrets and their digests, from OpenSSL: bearer credentials and join
/// tokens are drawn here and stored only as a SHA-256 digest, so a copy of the
/// database does not hand out working secrets.
public enum SecretDigest {
    /// `count` bytes from OpenSSL's CSPRNG.
    public static func randomBytes(count: Int) throws(TLSError) -> [UInt8] {
        precondition(count > 0 && count <= 4096, "random draws are small")
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else {
            throw TLSError.fromQueue(.internalFailure, "drawing random bytes")
        }
        return bytes
    }

    /// A new secret: `prefix` followed by `byteCount` random bytes in unpadded
    /// base64url (the form `JoinTokenSecret` and registry credentials accept).
    public static func newSecret(prefix: String, byteCount: Int = 32) throws(TLSError) -> String {
        prefix + base64URL(try randomBytes(count: byteCount))
    }

    /// SHA-256 of the text's UTF-8 bytes, as 64 lowercase hex digits.
    public static func sha256Hex(_ text: String) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = Array(text.utf8).withUnsafeBufferPointer { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        // EVP_Digest fails only when the library cannot run SHA-256 at all.
        precondition(ok == 1 && length == 32, "SHA-256 unavailable: \(drainOpenSSLErrorQueue())")
        return hex(digest)
    }

    /// Compares two strings in time that depends only on their lengths, so a
    /// caller probing a token cannot learn how many leading bytes were right.
    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out = [UInt8]()
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * offset) }
            for position in 0...chunk.count { out.append(alphabet[Int((value >> (18 - 6 * position)) & 0x3F)]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension SecretDigest {
    /// A new per-service registry credential: `wsc_` and 32 random bytes.
    public static func newCredential() throws(TLSError) -> String {
        try newSecret(prefix: "wsc_")
    }
}
