import Foundation
import Testing
import WeftProtocol

@Suite struct CertificateMessageTests {
    static let csrPEM =
        "-----BEGIN CERTIFICATE REQUEST-----\nMIHgMIGHAgEAMCUxIzAhBgNVBAMMGnNwaWZmZTovL3dlZnQubG9jYWwvbnMvZGVm\nYXVsdA==\n-----END CERTIFICATE REQUEST-----\n"
    static let certPEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ3Jh\n-----END CERTIFICATE-----\n"

    static func json(_ text: String) -> String {
        let data = try! JSONEncoder().encode(text)
        return String(decoding: data, as: UTF8.self)
    }

    @Test func signingRequestsCarryACSRAndOptionallyAToken() throws {
        let token = "wjt_" + String(repeating: "a", count: 43)
        let request = try expectRoundTrip(
            CertificateSigningRequest.self, #"{"csr": \#(Self.json(Self.csrPEM)), "join_token": "\#(token)"}"#)
        #expect(request.joinToken?.value == token)
        try expectRoundTrip(CertificateSigningRequest.self, #"{"csr": \#(Self.json(Self.csrPEM))}"#)
    }

    @Test(arguments: [
        ("not pem", "expected -----BEGIN CERTIFICATE REQUEST-----"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "expected PEM blocks labelled CERTIFICATE REQUEST, found CERTIFICATE"
        ),
        ("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", "missing -----END CERTIFICATE REQUEST-----"),
        ("-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----", "is empty"),
        ("-----BEGIN CERTIFICATE REQUEST-----\nAA*A\n-----END CERTIFICATE REQUEST-----", "not base64"),
        (
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
            "at most 1 allowed"
        ),
    ])
    func refusesMalformedCSRs(pem: String, reason: String) {
        expectRejected(CertificateSigningRequest.self, #"{"csr": \#(Self.json(pem))}"#, path: "csr", reason: reason)
    }

    @Test func refusesOversizedPEMAndBadTokens() {
        let huge =
            "-----BEGIN CERTIFICATE REQUEST-----\n" + String(repeating: "A", count: 17_000)
            + "\n-----END CERTIFICATE REQUEST-----"
        expectRejected(
            CertificateSigningRequest.self, #"{"csr": \#(Self.json(huge))}"#, path: "csr", reason: "the limit is 16384")
        expectRejected(
            CertificateSigningRequest.self, #"{"csr": \#(Self.json(Self.csrPEM)), "join_token": "hunter2"}"#,
            path: "join_token", reason: "must start with wjt_")
    }

    @Test func signingResponsesCheckTheirValidity() throws {
        let good =
            #"{"chain": \#(Self.json(Self.certPEM + Self.certPEM)), "identity": "spiffe://weft.local/ns/default/sa/api", "serial": "0A:1B", "not_before": "2026-11-21T00:00:00Z", "not_after": "2026-11-22T00:00:00Z"}"#
        let response = try expectRoundTrip(CertificateSigningResponse.self, good)
        #expect(response.serial.hex == "a1b")
        #expect(response.chain.blockCount == 2)
        expectRejected(
            CertificateSigningResponse.self, good.replacingOccurrences(of: "2026-11-22", with: "2026-11-20"),
            path: "not_after", reason: "must be after not_before")
    }

    @Test func trustBundlesHoldOneToSixteenRoots() throws {
        let bundle = try expectRoundTrip(
            TrustBundle.self,
            #"{"trust_domain": "weft.local", "version": 3, "roots": [\#(Self.json(Self.certPEM)), \#(Self.json(Self.certPEM))], "revoked_serials": ["ff01"]}"#
        )
        #expect(bundle.roots.count == 2)
        expectRejected(
            TrustBundle.self, #"{"trust_domain": "weft.local", "version": 3, "roots": []}"#, path: "roots",
            reason: "must not be empty")
        expectRejected(
            TrustBundle.self, #"{"trust_domain": "weft.local", "version": 3, "roots": ["junk"]}"#, path: "roots[0]",
            reason: "expected -----BEGIN CERTIFICATE-----")
        let seventeen = Array(repeating: Self.json(Self.certPEM), count: 17).joined(separator: ",")
        expectRejected(
            TrustBundle.self, #"{"trust_domain": "weft.local", "version": 3, "roots": [\#(seventeen)]}"#, path: "roots",
            reason: "the limit is 16")
        expectRejected(
            TrustBundle.self,
            #"{"trust_domain": "weft.local", "version": 3, "roots": [\#(Self.json(Self.certPEM))], "revoked_serials": ["zz"]}"#,
            path: "revoked_serials[0]", reason: "hex digits")
    }

    @Test func joinTokensValidateTheirLifecycle() throws {
        let request = try expectRoundTrip(
            JoinTokenRequest.self, #"{"identity": "spiffe://weft.local/ns/default/sa/api"}"#)
        #expect(request.ttl == .seconds(3600) && request.maximumUses == 1)
        expectRejected(
            JoinTokenRequest.self, #"{"identity": "spiffe://weft.local/ns/default/sa/api", "ttl": "31d"}"#, path: "ttl",
            reason: "unknown unit")
        expectRejected(
            JoinTokenRequest.self, #"{"identity": "spiffe://weft.local/ns/default/sa/api", "ttl": "10s"}"#, path: "ttl",
            reason: "between 1m and 720h")
        expectRejected(
            JoinTokenRequest.self, #"{"identity": "spiffe://weft.local/ns/default/sa/api", "max_uses": 0}"#,
            path: "max_uses", reason: "between 1 and 1000")

        let listed =
            #"{"id": "jt_1", "identity": "spiffe://weft.local/ns/default/sa/api", "created_at": "2026-11-21T00:00:00Z", "expires_at": "2026-11-21T01:00:00Z", "max_uses": 2, "uses": 1}"#
        let token = try expectRoundTrip(JoinToken.self, listed)
        #expect(token.isUsable(at: try Timestamp(validating: "2026-11-21T00:30:00Z")))
        #expect(!token.isUsable(at: try Timestamp(validating: "2026-11-21T01:00:00Z")))
        expectRejected(
            JoinToken.self, listed.replacingOccurrences(of: #""uses": 1"#, with: #""uses": 3"#), path: "uses",
            reason: "between 0 and max_uses")

        let created = #"{"token": \#(listed), "secret": "wjt_\#(String(repeating: "z", count: 43))"}"#
        try expectRoundTrip(JoinTokenCreated.self, created)
    }

    @Test func problemsCarryFieldErrors() throws {
        let error = ProtocolError(FieldPath([.key("routes"), .index(2), .key("match")]), "invalid")
        let problem = Problem(invalid: error)
        #expect(problem.status == 400)
        #expect(problem.errors == [Problem.FieldError(field: "routes[2].match", reason: "invalid")])
        let decoded = try expectRoundTrip(Problem.self, String(decoding: try WeftJSON.encode(problem), as: UTF8.self))
        #expect(decoded == problem)
        // Foreign problem bodies may carry extension members.
        let foreign = try WeftJSON.decode(Problem.self, from: #"{"title": "Nope", "status": 503, "retry_in": 5}"#)
        #expect(foreign.type == "about:blank")
        expectRejected(
            Problem.self, #"{"title": "Fine", "status": 200}"#, path: "status", reason: "must be an error status")
    }
}
