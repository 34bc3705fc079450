import Foundation
import FuzzSupport
import WeftTLS

/// libFuzzer's entry point for what the CA and the proxies read of X.509
/// material from outside: a CSR on the CA's public signing endpoint, a
/// certificate chain and a private key from files or from the CA's answers.
///
/// The first byte picks the reader. Even selectors take the rest as PEM text;
/// odd ones take it as DER and wrap it in PEM first, so the fuzzer explores the
/// ASN.1 that OpenSSL and Weft's own scanning of a CSR's names parse, rather
/// than base64. Whatever parses is then read as the CA reads it.
@_cdecl("LLVMFuzzerTestOneInput")
public func identityFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Data(bytes: data + 1, count: size - 1)
    func pem(_ label: String) -> String {
        "-----BEGIN \(label)-----\n" + body.base64EncodedString(options: .lineLength64Characters)
            + "\n-----END \(label)-----\n"
    }
    let text = String(decoding: body, as: UTF8.self)
    switch data[0] % 6 {
    case 0, 1:
        if let request = try? CertificateRequest(pem: data[0] % 2 == 0 ? text : pem("CERTIFICATE REQUEST")) {
            _ = try? request.verifySignature()
            _ = request.key
            _ = request.uriSubjectAlternativeNames
            _ = try? request.pemString()
        }
    case 2, 3:
        for certificate in (try? Certificate.chain(pem: data[0] % 2 == 0 ? text : pem("CERTIFICATE"))) ?? [] {
            _ = certificate.serialHex
            _ = (certificate.notBefore, certificate.notAfter, certificate.isCertificateAuthority)
            _ = certificate.isSelfSigned
            _ = certificate.uriSubjectAlternativeNames
            _ = certificate.dnsSubjectAlternativeNames
            _ = certificate.subjectCommonName
            _ = try? certificate.publicKeyPEM()
        }
    default:
        if let key = try? PrivateKey(pem: data[0] % 2 == 0 ? text : pem("PRIVATE KEY")) {
            _ = try? key.publicKeyPEM()
        }
    }
    return 0
}

/// `main`, as SwiftPM links it (see FuzzSupport).
@_cdecl("weft_fuzz_identity_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, identityFuzz)
}
