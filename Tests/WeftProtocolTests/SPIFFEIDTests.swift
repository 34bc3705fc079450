import Testing
import WeftProtocol

@Suite struct SPIFFEIDTests {
    @Test(arguments: [
        ("", "must start with spiffe://"),
        ("http://weft.local/ns/default/sa/api", "must start with spiffe://"),
        ("SPIFFE://weft.local/ns/default/sa/api", "must start with spiffe://"),
        ("spiffe://", "trust domain must not be empty"),
        ("spiffe://weft.local", "has no path"),
        ("spiffe://weft.local/", "path has an empty segment"),
        ("spiffe://Weft.local/ns/default/sa/api", "must be lowercase"),
        ("spiffe://weft.local:8443/ns/default/sa/api", "must not have a port"),
        ("spiffe://user@weft.local/ns/default/sa/api", "must not have user info"),
        ("spiffe://weft.local/ns/default/sa/api?x=1", "must not have a query"),
        ("spiffe://weft.local/ns/default/sa/api#frag", "must not have a fragment"),
        ("spiffe://weft.local/ns//sa/api", "empty segment"),
        ("spiffe://weft.local/ns/default/sa/api/", "empty segment"),
        ("spiffe://weft.local/ns/./sa/api", "'.' or '..'"),
        ("spiffe://weft.local/ns/default/sa/a%20b", "may hold only letters"),
        ("spiffe://weft.local/workload/api", "must be /ns/<namespace>/sa/<service>"),
        ("spiffe://weft.local/ns/default/sa/api/extra", "must be /ns/<namespace>/sa/<service>"),
        ("spiffe://weft.local/ns/Default/sa/api", "namespace must be lowercase"),
        ("spiffe://weft.local/ns/default/sa/-api", "service must start and end"),
        ("spiffe://weft.local/ns/default/sa/api_v2", "service may hold only"),
        ("spiffe://weft local/ns/default/sa/api", "may hold only a-z"),
    ])
    func refusesInvalidIDs(text: String, reason: String) {
        expectInvalid(SPIFFEID.self, text, reason)
    }

    @Test func refusesIDsLongerThanTheSpecAllows() {
        let long = "spiffe://weft.local/ns/default/sa/" + String(repeating: "a", count: 2100)
        expectInvalid(SPIFFEID.self, long, "longer than 2048 bytes")
    }

    @Test func parsesItsParts() throws {
        let id = try SPIFFEID(validating: "spiffe://prod.example_1/ns/shop/sa/payments")
        #expect(id.trustDomain == "prod.example_1")
        #expect(id.namespace.rawValue == "shop")
        #expect(id.service.rawValue == "payments")
        #expect(id.description == "spiffe://prod.example_1/ns/shop/sa/payments")
        #expect(
            id.serviceReference
                == ServiceReference(
                    service: try ServiceName(validating: "payments"), namespace: try NamespaceName(validating: "shop")))
    }

    @Test func buildsFromPartsAndChecksTheTrustDomain() throws {
        let service = try ServiceName(validating: "api")
        #expect(throws: ProtocolError.self) { try SPIFFEID(trustDomain: "Bad!", namespace: .default, service: service) }
        let id = try SPIFFEID(trustDomain: "weft.local", namespace: .default, service: service)
        #expect(id.description == "spiffe://weft.local/ns/default/sa/api")
    }

    @Test func identityPatternsMatchBySpecificity() throws {
        let caller = try SPIFFEID(validating: "spiffe://weft.local/ns/shop/sa/web")
        let other = try SPIFFEID(validating: "spiffe://weft.local/ns/ops/sa/web")
        let exact = try IdentityPattern(validating: "spiffe://weft.local/ns/shop/sa/web")
        let namespace = try IdentityPattern(validating: "spiffe://weft.local/ns/shop/sa/*")
        let any = try IdentityPattern(validating: "*")
        #expect(exact.matches(caller) && !exact.matches(other))
        #expect(namespace.matches(caller) && !namespace.matches(other))
        #expect(any.matches(caller) && any.matches(other))
        #expect(exact.specificity > namespace.specificity && namespace.specificity > any.specificity)
        #expect(namespace.description == "spiffe://weft.local/ns/shop/sa/*")
    }

    @Test(arguments: [
        ("spiffe://weft.local/ns/*/sa/*", "expected *, spiffe://"),
        ("spiffe://weft.local/ns/shop/sa/we*", "'*' may only stand for"),
        ("**", "'*' may only stand for"),
        ("spiffe://*/ns/shop/sa/web", "'*' may only stand for"),
    ])
    func refusesOtherWildcards(text: String, reason: String) {
        expectInvalid(IdentityPattern.self, text, reason)
    }
}
