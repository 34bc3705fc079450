import Foundation
import FuzzSupport
import WeftProtocol

/// libFuzzer's entry point for WeftProtocol: every decoder and parser the
/// registry, the CA and the proxies run on bytes from outside.
///
/// The first byte picks the parser; the rest is its input. Besides "never
/// crashes, never hangs" (libFuzzer's -timeout), each JSON document that
/// decodes must survive a round trip: encoded, it decodes again to an equal
/// value and encodes to the same bytes. A decoder that accepts what its own
/// encoder cannot reproduce would let the registry store one configuration and
/// serve another.
@_cdecl("LLVMFuzzerTestOneInput")
public func protocolFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let body = Data(bytes: data + 1, count: size - 1)
    let text = String(decoding: body, as: UTF8.self)
    switch selector % 20 {
    case 0: roundTrip(RouteTable.self, body)
    case 1: roundTrip(TrafficPolicy.self, body)
    case 2: roundTrip(Intention.self, body)
    case 3: roundTrip(Instance.self, body)
    case 4: roundTrip(DiscoverySnapshot.self, body)
    case 5: roundTrip(MeshDefaults.self, body)
    case 6: roundTrip(Service.self, body)
    case 7: roundTrip(Heartbeat.self, body)
    case 8: roundTrip(DiscoveryRequest.self, body)
    case 9: roundTrip(CertificateSigningRequest.self, body)
    case 10: roundTrip(JoinTokenRequest.self, body)
    case 11: roundTrip(CertificateRevocation.self, body)
    case 12: roundTrip(TrustBundle.self, body)
    case 13:
        // A version range, tried against versions cut from the same bytes.
        let parts = text.split(separator: "\n", maxSplits: 1)
        if let range = try? VersionRange(validating: String(parts.first ?? "")),
            let version = try? SemanticVersion(validating: String(parts.dropFirst().first ?? ""))
        {
            _ = range.contains(version)
            _ = range.boundaries
        }
    case 14:
        // A regex, compiled, matched against the rest of the input.
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        if let regex = try? SafeRegex(validating: String(parts.first ?? "")) {
            _ = regex.matches(parts.dropFirst().first ?? "")
        }
    case 15:
        _ = try? PEMDocument(text, label: "CERTIFICATE", maximumBlocks: 4)
        _ = try? PEMDocument(text, label: "CERTIFICATE REQUEST")
    case 16:
        _ = try? SPIFFEID(validating: text)
        _ = try? IdentityPattern(validating: text)
        _ = try? HostPattern(validating: text)
        _ = try? HostAddress(validating: text)
    case 17:
        _ = try? Timestamp(validating: text)
        _ = try? WeftDuration(validating: text)
        _ = try? CertificateSerial(validating: text)
        _ = try? JoinTokenSecret(validating: text)
    case 18:
        if let a = try? SemanticVersion(validating: text), let b = try? SemanticVersion(validating: a.description) {
            precondition(a.precedence(comparedTo: b) == 0, "\(a) does not equal itself printed")
        }
    default:
        _ = try? HeaderName(validating: text)
        _ = try? HTTPMethod(validating: text)
        _ = try? ServiceName(validating: text)
        _ = try? NamespaceName(validating: text)
        _ = try? RouteName(validating: text)
        _ = try? InstanceID(validating: text)
    }
    return 0
}

/// Decodes `T`; what decodes must encode, decode again to an equal value, and
/// encode to the same bytes.
func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ body: Data) {
    guard let value = try? WeftJSON.decode(type, from: body) else { return }
    let encoded: Data
    do {
        encoded = try WeftJSON.encode(value)
    } catch {
        preconditionFailure("\(T.self) decoded but does not encode: \(error)")
    }
    let again: T
    do {
        again = try WeftJSON.decode(type, from: encoded)
    } catch {
        preconditionFailure(
            "\(T.self) encodes to what it refuses: \(error)\n\(String(decoding: encoded, as: UTF8.self))")
    }
    precondition(again == value, "\(T.self) changed in a round trip:\n\(String(decoding: encoded, as: UTF8.self))")
    precondition(
        (try? WeftJSON.encode(again)) == encoded,
        "\(T.self) encodes differently the second time:\n\(String(decoding: encoded, as: UTF8.self))")
}

/// `main`, as SwiftPM links it (see FuzzSupport).
@_cdecl("weft_fuzz_protocol_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, protocolFuzz)
}
