import Dispatch
import Foundation
import Synchronization
import Testing
import WeftProtocol

/// Decodes `json` as `T` and expects a refusal at `path` whose reason contains
/// `reason`. Returns the error for further checks.
@discardableResult
func expectRejected<T: Decodable>(
    _ type: T.Type, _ json: String, path: String, reason: String,
    sourceLocation: SourceLocation = #_sourceLocation
) -> ProtocolError? {
    do {
        let value = try WeftJSON.decode(T.self, from: json)
        Issue.record("expected \(T.self) to be refused at \(path), decoded \(value)", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.path.description == path, "path of: \(error)", sourceLocation: sourceLocation)
        if !reason.isEmpty {
            #expect(error.reason.contains(reason), "reason of: \(error)", sourceLocation: sourceLocation)
        }
        return error
    }
}

/// Decodes, then checks that encoding and decoding again gives the same value and
/// the same bytes (a stable wire form).
@discardableResult
func expectRoundTrip<T: Codable & Equatable>(
    _ type: T.Type, _ json: String, sourceLocation: SourceLocation = #_sourceLocation
) throws -> T {
    let value = try WeftJSON.decode(T.self, from: json)
    let encoded = try WeftJSON.encode(value)
    let again = try WeftJSON.decode(T.self, from: encoded)
    #expect(again == value, "round trip changed the value", sourceLocation: sourceLocation)
    #expect(try WeftJSON.encode(again) == encoded, "encoding is not stable", sourceLocation: sourceLocation)
    return value
}

/// Expects a validating initializer to refuse `text` with `reason` in the message.
func expectInvalid<T: Decodable>(
    _ type: T.Type, _ text: String, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    // Strings decode through JSON so the same path as the wire is tested.
    var escaped = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": escaped += "\\\""
        case "\\": escaped += "\\\\"
        case "\n": escaped += "\\n"
        case "\t": escaped += "\\t"
        default:
            if scalar.value < 0x20 {
                escaped += unicodeEscape(scalar.value)
            } else {
                escaped.unicodeScalars.append(scalar)
            }
        }
    }
    expectRejected(T.self, "\"\(escaped)\"", path: "", reason: reason, sourceLocation: sourceLocation)
}

private func unicodeEscape(_ value: UInt32) -> String {
    let hex = String(value, radix: 16)
    return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
}

/// Runs `body` on a thread of its own and waits up to `seconds` for its result;
/// nil if it has not finished by then. A runaway regression (exponential
/// backtracking, quadratic parsing) then fails its test instead of hanging the
/// whole run: the thread is left to spin, and the run still ends. Swift
/// Testing's own time limit cannot do this for synchronous code, which it can
/// only wait for.
func finishing<T: Sendable>(within seconds: Double, _ body: @escaping @Sendable () -> T) -> T? {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<T?>(nil)
    Thread.detachNewThread {
        let value = body()
        result.withLock { $0 = value }
        done.signal()
    }
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    return result.withLock { $0 }
}
