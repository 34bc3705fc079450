import Foundation
import Testing
import WeftProtocol

@Suite struct IntentionTests {
    @Test func intentionsRoundTripAndApplyToMatchingCalls() throws {
        let json = #"""
            {"source": "spiffe://weft.local/ns/shop/sa/web", "destination": "payments", "namespace": "shop",
             "action": "allow", "methods": ["GET", "POST"], "path": {"prefix": "/charges"}, "description": "web charges cards"}
            """#
        let intention = try expectRoundTrip(Intention.self, json)
        let web = try SPIFFEID(validating: "spiffe://weft.local/ns/shop/sa/web")
        let admin = try SPIFFEID(validating: "spiffe://weft.local/ns/shop/sa/admin")
        #expect(intention.applies(to: web, method: "POST", path: "/charges/42"))
        #expect(!intention.applies(to: web, method: "DELETE", path: "/charges/42"))
        #expect(!intention.applies(to: web, method: "GET", path: "/refunds"))
        #expect(!intention.applies(to: admin, method: "GET", path: "/charges"))
    }

    @Test(arguments: [
        (#"{"source": "*", "destination": "api", "action": "permit"}"#, "action", "expected allow or deny"),
        (#"{"source": "web", "destination": "api", "action": "allow"}"#, "source", "must start with spiffe://"),
        (#"{"source": "*", "action": "allow"}"#, "destination", "is required"),
        (
            #"{"source": "*", "destination": "api", "action": "allow", "path": {"regex": "(a+"}}"#, "path.regex",
            "invalid pattern"
        ),
        (
            #"{"source": "*", "destination": "api", "action": "allow", "methods": ["get"]}"#, "methods[0]",
            "uppercase token"
        ),
    ])
    func refusesBadIntentions(json: String, path: String, reason: String) {
        expectRejected(Intention.self, json, path: path, reason: reason)
    }

    @Test func refusesOverlongDescriptions() {
        let json =
            #"{"source": "*", "destination": "api", "action": "deny", "description": "\#(String(repeating: "x", count: 513))"}"#
        expectRejected(Intention.self, json, path: "description", reason: "longer than 512 bytes")
    }

    @Test func meshDefaultsDenyUnlessToldOtherwise() throws {
        let defaults = try expectRoundTrip(MeshDefaults.self, "{}")
        #expect(defaults.defaultAction == .deny)
        #expect(defaults.trustDomain == "weft.local")
        expectRejected(
            MeshDefaults.self, #"{"trust_domain": "Weft"}"#, path: "trust_domain", reason: "must be lowercase")
    }
}
