internal import COpenSSL

/// Facts about the OpenSSL library Weft is linked against.
public enum OpenSSLLibrary {
    /// OpenSSL's own version string, for example `OpenSSL 3.0.19 27 Jan 2026`.
    public static var versionString: String {
        String(cString: OpenSSL_version(OPENSSL_VERSION))
    }

    /// The runtime version number (`0xMNN00PP0L`); Weft needs OpenSSL 3.
    public static var versionNumber: UInt {
        UInt(OpenSSL_version_num())
    }
}
