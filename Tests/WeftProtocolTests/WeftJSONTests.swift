import Foundation
import Testing
import WeftProtocol

@Suite struct WeftJSONTests {
    @Test(arguments: [
        ("", "document is empty"),
        ("{", "malformed JSON"),
        ("{\"name\": }", "malformed JSON"),
        ("[1, 2", "malformed JSON"),
        ("nul", "malformed JSON"),
        ("\u{FEFF}{}garbage", "malformed JSON"),
    ])
    func malformedDocumentsAreRefusedAtTheTop(json: String, reason: String) {
        expectRejected(Service.self, json, path: "", reason: reason)
    }

    @Test(arguments: [
        ("[]", "", "expected an object"),
        ("\"api\"", "", "expected an object"),
        ("{\"name\": 5}", "name", "expected a string"),
        ("{\"name\": null}", "name", "must not be null"),
        ("{\"name\": [\"api\"]}", "name", "expected a string"),
        ("{\"name\": \"api\", \"protocol\": true}", "protocol", "expected a string"),
    ])
    func wrongTypesNameTheField(json: String, path: String, reason: String) {
        expectRejected(Service.self, json, path: path, reason: reason)
    }

    @Test func missingFieldsAreNamed() {
        expectRejected(Service.self, "{}", path: "name", reason: "is required")
        expectRejected(
            Instance.self, #"{"id": "i-1", "service": "api", "address": "10.0.0.1"}"#, path: "port",
            reason: "is required")
    }

    @Test func unknownFieldsAreRefusedByDefaultAndListTheKnownOnes() {
        let error = expectRejected(
            Service.self, #"{"name": "api", "protocl": "http"}"#, path: "protocl", reason: "unknown field")
        #expect(error?.reason.contains("name, namespace, protocol") == true)
    }

    @Test func unknownFieldsCanBeIgnoredForForwardCompatibility() throws {
        let json = #"{"name": "api", "added_in_a_later_release": {"x": 1}}"#
        let service = try WeftJSON.decode(Service.self, from: Data(json.utf8), unknownFields: .ignore)
        #expect(service.name.rawValue == "api")
    }

    @Test func oversizedDocumentsAreRefusedBeforeParsing() {
        let big = Data(repeating: UInt8(ascii: " "), count: WeftJSON.defaultMaximumSize + 1)
        #expect(throws: ProtocolError("document is \(big.count) bytes; the limit is \(WeftJSON.defaultMaximumSize)")) {
            try WeftJSON.decode(Service.self, from: big)
        }
    }

    @Test func deepNestingIsRefusedWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: ProtocolError.self) { try WeftJSON.decode(Service.self, from: deep) }
    }

    @Test func integersOutOfRangeAreRefused() {
        let base = #"{"id": "i-1", "service": "api", "address": "10.0.0.1", "port": PORT}"#
        for (port, reason) in [
            ("0", "between 1 and 65535"), ("65536", "between 1 and 65535"), ("-1", "between 1 and 65535"),
            ("80.5", "must be a whole number"), ("99999999999999999999", "out of range"),
            ("\"80\"", "expected an integer"),
        ] {
            let error = expectRejected(
                Instance.self, base.replacingOccurrences(of: "PORT", with: port), path: "port", reason: "")
            #expect(error?.description.contains(reason) == true, "\(port): \(String(describing: error))")
        }
    }

    @Test func unsignedFieldsRefuseNegativeNumbersPrecisely() {
        let json = #"{"version": -1, "generated_at": "2026-11-21T05:06:10Z"}"#
        expectRejected(
            DiscoverySnapshot.self, json, path: "version", reason: "is out of range (0 to 18446744073709551615)")
    }

    @Test(arguments: [
        (#"{"name": "api", "name": "web"}"#, "name"),
        (#"{"name": "api", "namespace": "a", "n\u0061me": "web"}"#, "name"),
        (#"{"name": "api", "protocol": "http", "protocol": "grpc"}"#, "protocol"),
    ])
    func duplicateKeysAreRefused(json: String, path: String) {
        expectRejected(Service.self, json, path: path, reason: "duplicate key")
    }

    @Test func duplicateKeysAreFoundDeepInsideDocuments() {
        let instance =
            #"{"id": "i", "service": "api", "address": "::1", "port": 1, "labels": {"version": "1", "zone": "a", "version": "2"}}"#
        expectRejected(Instance.self, instance, path: "labels.version", reason: "duplicate key")
        let table =
            #"{"routes": [{"name": "a", "destinations": [{"service": "x"}]}, {"name": "b", "destinations": [{"service": "x", "weight": 50, "weight": 100}]}]}"#
        expectRejected(RouteTable.self, table, path: "routes[1].destinations[0].weight", reason: "duplicate key")
        // Equal keys in different objects, and strings that merely look like keys, are fine.
        let fine =
            #"{"routes": [{"name": "a", "destinations": [{"service": "x"}]}, {"name": "b", "match": {"headers": [{"name": "name", "exact": "{\"name\": 1, \"name\": 2}"}]}, "destinations": [{"service": "x"}]}]}"#
        #expect(throws: Never.self) { try WeftJSON.decode(RouteTable.self, from: fine) }
    }

    @Test func fieldPathsQuoteKeysThatAreNotIdentifiers() {
        let path = FieldPath([.key("labels"), .key("weft.dev/canary"), .index(2), .key("x\"y")])
        #expect(path.description == #"labels["weft.dev/canary"][2]["x\"y"]"#)
    }
    /// A hostile body with many keys must cost time in proportion to its size: the
    /// duplicate-key scan once copied its set of seen keys for every key added,
    /// and a 1 MiB heartbeat of ~96,000 keys held a core for a minute. Compares
    /// sizes rather than asserting a duration: four times the keys may cost about
    /// four times the time (best of three, against noise), never sixteen.
    @Test func manyKeysCostLinearTime() throws {
        func body(keys: Int) -> Data {
            var text = #"{"health": "passing""#
            for index in 0..<keys { text += #", "k\#(index)": 1"# }
            return Data((text + "}").utf8)
        }
        // Each decoding is refused (unknown field); nil when one was still
        // running after a minute, so a quadratic regression fails rather than
        // holding the run.
        func bestOfThree(_ data: Data) -> Duration? {
            finishing(within: 60) {
                (0..<3).map { _ in
                    ContinuousClock().measure { _ = try? WeftJSON.decode(Heartbeat.self, from: data) }
                }.min()!
            }
        }
        #expect(throws: ProtocolError.self) { try WeftJSON.decode(Heartbeat.self, from: body(keys: 10)) }
        let small = try #require(bestOfThree(body(keys: 6_000)), "6,000 keys took over a minute")
        let large = try #require(bestOfThree(body(keys: 24_000)), "24,000 keys took over a minute")
        #expect(large < small * 8, "6,000 keys took \(small), 24,000 took \(large): superlinear")
        // And the size the report found, 1 MiB of keys, is refused (unknown field) outright.
        let largest = body(keys: 80_000)
        #expect(largest.count <= WeftJSON.defaultMaximumSize)
        #expect(throws: ProtocolError.self) { try WeftJSON.decode(Heartbeat.self, from: largest) }
        #expect(bestOfThree(largest).map { $0 < .seconds(10) } == true)
    }
}
