import Foundation
import Testing
import WeftProtocol

/// Every type's JSON form reads back to the same value and the same bytes.
@Suite struct RoundTripTests {
    @Test(arguments: [
        "\"spiffe://weft.local/ns/default/sa/api\""
    ])
    func spiffeIDs(json: String) throws { try expectRoundTrip(SPIFFEID.self, json) }

    @Test func everyStringShapedType() throws {
        try expectRoundTrip(IdentityPattern.self, #""*""#)
        try expectRoundTrip(IdentityPattern.self, #""spiffe://weft.local/ns/shop/sa/*""#)
        try expectRoundTrip(IdentityPattern.self, #""spiffe://weft.local/ns/shop/sa/web""#)
        try expectRoundTrip(SafeRegex.self, #""(kiosk|pos)-v[0-9]+""#)
        try expectRoundTrip(HostPattern.self, #""*.example.com""#)
        try expectRoundTrip(HostPattern.self, #""10.0.0.1""#)
        try expectRoundTrip(HeaderName.self, #""x-firmware-version""#)
        try expectRoundTrip(HTTPMethod.self, #""PATCH""#)
        try expectRoundTrip(InstanceID.self, #""api-1:8080""#)
        try expectRoundTrip(RouteName.self, #""canary""#)
        try expectRoundTrip(CertificateSerial.self, #""7f3a9c""#)
        try expectRoundTrip(SemanticVersion.self, #""1.0.0-rc.1+build.5""#)
        try expectRoundTrip(VersionRange.self, #"">=2.1.0 <3.0.0 || ^4.0.0-beta""#)
        try expectRoundTrip(WeftDuration.self, #""1500ms""#)
        try expectRoundTrip(Timestamp.self, #""2026-11-21T05:06:10Z""#)
        try expectRoundTrip(HostAddress.self, #""2001:db8::1""#)
        try expectRoundTrip(Labels.self, #"{"weft.dev/canary": "true", "version": ""}"#)
        try expectRoundTrip(ServiceReference.self, #"{"service": "api", "namespace": "shop"}"#)
    }

    @Test(arguments: [
        #"{"type": "least_request", "choice_count": 3}"#,
        #"{"type": "round_robin"}"#,
        #"{"type": "random"}"#,
        #"{"type": "ring_hash", "hash_header": "x-user"}"#,
        #"{"type": "ring_hash", "hash_cookie": "session"}"#,
        #"{"type": "peak_ewma"}"#,
    ])
    func everyBalancer(json: String) throws { try expectRoundTrip(LoadBalancerPolicy.self, json) }

    @Test func tablesAndTheirParts() throws {
        try expectRoundTrip(
            RouteTable.self,
            #"{"routes": [{"name": "a", "destinations": [{"service": "api"}]}, {"name": "b", "match": {"path": {"regex": "/v[0-9]+/.*"}, "query": [{"name": "q", "absent": true}]}, "destinations": [{"service": "api"}], "fault": {"abort": {"status": 503, "percent": 0.5}}, "rewrite": {"path": "/x", "host": "internal.local:8080"}}]}"#
        )
        try expectRoundTrip(RouteTable.self, #"{"routes": []}"#)
        try expectRoundTrip(PathMatch.self, #"{"exact": "/healthz"}"#)
        try expectRoundTrip(RetryPolicy.self, #"{"attempts": 0, "retry_on": []}"#)
        try expectRoundTrip(MirrorPolicy.self, #"{"service": "shadow"}"#)
        try expectRoundTrip(HeaderMatch.self, #"{"name": "x", "present": true}"#)
        try expectRoundTrip(QueryParameterMatch.self, #"{"name": "page", "regex": "[0-9]+"}"#)
        try expectRoundTrip(UpstreamSnapshot.self, #"{"service": {"service": "api"}}"#)
        try expectRoundTrip(Problem.FieldError.self, #"{"field": "port", "reason": "must be between 1 and 65535"}"#)
    }

    @Test func remainingRulesAreEnforced() {
        expectRejected(
            RetryPolicy.self, #"{"attempts": 1, "retry_on": []}"#, path: "retry_on", reason: "at least one condition")
        expectRejected(
            RetryPolicy.self, #"{"attempts": 1, "base_backoff": "1s", "max_backoff": "100ms"}"#, path: "max_backoff",
            reason: "must not be below base_backoff")
        expectRejected(RouteRewrite.self, #"{"host": "bad host"}"#, path: "host", reason: "invalid address")
        expectRejected(
            RouteRewrite.self, #"{"set_headers": {"x-a": "line\nbreak"}}"#, path: #"set_headers["x-a"]"#,
            reason: "without control characters")
        expectRejected(
            RouteRewrite.self, #"{"set_headers": {"bad name": "v"}}"#, path: "set_headers", reason: "token characters")
        expectRejected(
            RouteRewrite.self, #"{"remove_headers": ["host"]}"#, path: "remove_headers", reason: "cannot be rewritten")
        expectRejected(HeaderMatch.self, #"{"name": "x", "prefix": ""}"#, path: "prefix", reason: "use present")
        expectRejected(HeaderMatch.self, #"{"name": "x"}"#, path: "", reason: "give exactly one of")
        expectRejected(
            QueryParameterMatch.self, #"{"name": "x", "version": "1.x"}"#, path: "version", reason: "unknown field")
        expectRejected(
            JoinToken.self,
            #"{"id": "bad id", "identity": "spiffe://weft.local/ns/default/sa/api", "created_at": "2026-11-21T00:00:00Z", "expires_at": "2026-11-21T01:00:00Z", "max_uses": 1}"#,
            path: "id", reason: "letters, digits")
        expectRejected(
            JoinToken.self,
            #"{"id": "t", "identity": "spiffe://weft.local/ns/default/sa/api", "created_at": "2026-11-21T02:00:00Z", "expires_at": "2026-11-21T01:00:00Z", "max_uses": 1}"#,
            path: "expires_at", reason: "must be after created_at")
        expectRejected(
            TrustBundle.self,
            #"{"trust_domain": "", "version": 1, "roots": ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"]}"#,
            path: "trust_domain", reason: "must not be empty")
        let nine = String(repeating: "-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n", count: 9)
        expectRejected(
            CertificateSigningResponse.self,
            #"{"chain": "\#(nine)", "identity": "spiffe://weft.local/ns/default/sa/api", "serial": "01", "not_before": "2026-11-21T00:00:00Z", "not_after": "2026-11-22T00:00:00Z"}"#,
            path: "chain", reason: "at most 8 allowed")
        expectRejected(
            DiscoverySnapshot.self,
            #"{"version": 1, "generated_at": "2026-11-21T00:00:00Z", "upstreams": [{"service": {"service": "a"}}, {"service": {"service": "a"}}]}"#,
            path: "upstreams[1].service", reason: "appears twice")
        expectRejected(
            UpstreamSnapshot.self, #"{"service": {"service": "api"}, "protocol": "smtp"}"#, path: "protocol",
            reason: "expected one of")
        expectRejected(
            Intention.self, #"{"source": "*", "destination": "api", "action": "allow", "namespace": "Shop"}"#,
            path: "namespace", reason: "must be lowercase")
    }
}
