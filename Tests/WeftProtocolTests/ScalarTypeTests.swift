import Testing
import WeftProtocol

/// Names, addresses, labels, durations and timestamps: the string-shaped values
/// everything else is built from.
@Suite struct ScalarTypeTests {
    @Test(arguments: [
        ("", "must not be empty"),
        ("Payments", "must be lowercase"),
        ("pay_ments", "may hold only a-z, 0-9 and '-'"),
        ("-payments", "must start and end"),
        ("payments-", "must start and end"),
        ("pay.ments", "may hold only"),
        (String(repeating: "a", count: 64), "the limit is 63"),
    ])
    func serviceNamesAreDNSLabels(text: String, reason: String) {
        expectInvalid(ServiceName.self, text, reason)
        expectInvalid(NamespaceName.self, text, reason)
    }

    @Test func serviceNamesAcceptLabels() throws {
        for name in ["a", "payments", "auth-v2", "0day", String(repeating: "a", count: 63)] {
            #expect(try ServiceName(validating: name).rawValue == name)
        }
    }

    @Test(arguments: [
        ("10.0.0.1", "10.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
        ("::1", "::1"), ("::", "::"), ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"), ("fe80::1:0:0:0", "fe80::1:0:0:0"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"), ("::ffff:10.1.2.3", "::ffff:a01:203"),
        ("api", "api"), ("registry.weft.svc.cluster.local", "registry.weft.svc.cluster.local"),
    ])
    func addressesParseAndPrintCanonically(text: String, printed: String) throws {
        #expect(try HostAddress(validating: text).description == printed)
    }

    @Test(arguments: [
        ("", "must not be empty"),
        ("256.0.0.1", "not a valid IPv4 address"),
        ("1.2.3", "not a valid IPv4 address"),
        ("010.0.0.1", "not a valid IPv4 address"),
        ("1::2::3", "not a valid IPv6 address"),
        ("12345::1", "not a valid IPv6 address"),
        ("1:2:3:4:5:6:7:8:9", "not a valid IPv6 address"),
        ("[::1]", "not a valid IPv6 address"),
        ("my_host", "hostname label may hold only"),
        ("host..local", "hostname label must not be empty"),
        ("API.local", "must be lowercase"),
        ("http://api", "not a valid IPv6 address"),
    ])
    func refusesBadAddresses(text: String, reason: String) {
        expectInvalid(HostAddress.self, text, reason)
    }

    @Test(arguments: [
        ("250ms", 250), ("1.5s", 1500), ("30s", 30000), ("5m", 300_000), ("1h30m", 5_400_000), ("0s", 0),
        ("2h", 7_200_000),
    ])
    func durationsParse(text: String, milliseconds: Int64) throws {
        #expect(try WeftDuration(validating: text).milliseconds == milliseconds)
    }

    @Test(arguments: [
        ("", "must not be empty"), ("30", "missing unit"), ("-5s", "must not be negative"),
        ("5d", "unknown unit \"d\""),
        ("1.5.5s", "expected a number"), ("s", "expected a number"), (".5s", "expected a number"),
        ("1.0005s", "finer than a millisecond"),
        ("9000h", "longer than 366 days"), ("5 s", "missing unit"), ("1e3s", "unknown unit \"e\""),
    ])
    func refusesBadDurations(text: String, reason: String) {
        expectInvalid(WeftDuration.self, text, reason)
    }

    @Test(arguments: [(90_000, "90s"), (1500, "1500ms"), (3_600_000, "1h"), (120_000, "2m"), (0, "0s")])
    func durationsPrintInTheLargestExactUnit(milliseconds: Int64, text: String) throws {
        #expect(WeftDuration(milliseconds: milliseconds).description == text)
        #expect(try WeftDuration(validating: text).milliseconds == milliseconds)
    }

    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0), ("2026-11-21T05:06:10Z", 1_795_237_570), ("2000-02-29T12:00:00Z", 951_825_600),
        ("2026-11-21T07:06:10+02:00", 1_795_237_570), ("2026-11-21T05:06:10.123Z", 1_795_237_570),
        ("1969-12-31T23:59:59Z", -1),
    ])
    func timestampsParseRFC3339(text: String, seconds: Int64) throws {
        let timestamp = try Timestamp(validating: text)
        #expect(timestamp.secondsSinceEpoch == seconds)
        #expect(try Timestamp(validating: timestamp.description) == timestamp)
    }

    @Test(arguments: [
        ("2026-11-21", "expected RFC 3339"), ("2026-13-01T00:00:00Z", "month out of range"),
        ("2026-02-29T00:00:00Z", "day out of range"),
        ("2026-11-21T24:00:00Z", "time of day out of range"), ("2026-11-21T05:06:10.5", "missing time zone"),
        ("2026-11-21T05:06:10+0200", "offset must be"), ("2026-11-21 05:06:10Z", "expected RFC 3339"),
        ("2026-11-21T05:06:10Zjunk", "unexpected text"),
    ])
    func refusesBadTimestamps(text: String, reason: String) {
        expectInvalid(Timestamp.self, text, reason)
    }

    @Test func labelsAreValidatedWithTheKeyInThePath() {
        expectRejected(
            Labels.self, #"{"Terminal-Type": "1"}"#, path: #"["Terminal-Type"]"#, reason: "invalid label key")
        expectRejected(Labels.self, #"{"version": "1 0"}"#, path: "version", reason: "printable ASCII without spaces")
        expectRejected(Labels.self, #"{"version": 1}"#, path: "version", reason: "expected a string")
        let many = (0..<65).map { "\"k\($0)\": \"v\"" }.joined(separator: ",")
        expectRejected(Labels.self, "{\(many)}", path: "", reason: "the limit is 64")
    }

    @Test func labelSelectorsMatchSubsets() throws {
        let labels: Labels = ["version": "2.1.0", "terminal-type": "kiosk", "weft.dev/canary": "true"]
        #expect(labels.contains(["version": "2.1.0"]))
        #expect(labels.contains([:]))
        #expect(!labels.contains(["version": "2.0.0"]))
        #expect(!labels.contains(["zone": "a"]))
    }

    @Test(arguments: [
        ("01:23:AB", "123ab"), ("00ff", "ff"), ("0", "0"), ("7F3A9c", "7f3a9c"),
    ])
    func certificateSerialsNormalise(text: String, hex: String) throws {
        #expect(try CertificateSerial(validating: text).hex == hex)
    }

    @Test(arguments: ["", "xyz", String(repeating: "a", count: 41), "12 34"])
    func refusesBadSerials(text: String) {
        expectInvalid(CertificateSerial.self, text, "expected 1 to 40 hex digits")
    }

    @Test func joinTokenSecretsNeverPrint() throws {
        let secret = try JoinTokenSecret(validating: "wjt_" + String(repeating: "A", count: 43))
        #expect(!secret.description.contains("AAAA"))
        expectInvalid(JoinTokenSecret.self, "abc", "must start with wjt_")
        expectInvalid(JoinTokenSecret.self, "wjt_short", "20 to 200 base64url")
        expectInvalid(JoinTokenSecret.self, "wjt_" + String(repeating: "A", count: 30) + "!", "20 to 200 base64url")
    }

    @Test(arguments: [
        ("", "must not be empty"), ("a b", "may hold only"), (String(repeating: "i", count: 129), "longer than 128"),
    ])
    func refusesBadInstanceIDs(text: String, reason: String) {
        expectInvalid(InstanceID.self, text, reason)
    }
}
