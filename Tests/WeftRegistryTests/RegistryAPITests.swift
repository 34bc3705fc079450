import Foundation
import Testing
import WeftTestSupport

/// The admin API over real HTTP against a real PostgreSQL: refusals first, then
/// what each endpoint does.
@Suite struct RegistryAPITests {
    static let payments = #"{"name":"payments","namespace":"shop","protocol":"grpc"}"#

    static func instance(_ id: String, service: String = "payments", ttl: String = "30s", health: String = "passing")
        -> String
    {
        #"{"id":"\#(id)","service":"\#(service)","namespace":"shop","address":"10.0.0.7","port":9000,"zone":"eu-1a","labels":{"version":"2.1.0"},"ttl":"\#(ttl)","health":"\#(health)"}"#
    }

    @Test func refusesCallsWithoutTheRightToken() async throws {
        try await RegistryHarness.with { registry in

            let missing = try await registry.call("GET", "/v1/services", token: nil)
            #expect(missing.status == 401)
            #expect(missing.header("Content-Type") == "application/problem+json")
            #expect(missing.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(missing.json["type"] as? String == "https://weft.dev/problems/unauthenticated")

            let wrong = try await registry.call("GET", "/v1/services", token: "test-admin-token-0123456780")
            #expect(wrong.status == 401)
            let basic = try await registry.call(
                "GET", "/v1/services", token: nil, headers: ["Authorization": "Basic eDp5"])
            #expect(basic.status == 401)
            #expect((basic.json["detail"] as? String)?.contains("Bearer") == true)
            let unknownCredential = try await registry.call(
                "GET", "/v1/services", token: "wsc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            #expect(unknownCredential.status == 401)

            // Operational endpoints are open.
            #expect(try await registry.call("GET", "/healthz", token: nil).status == 200)
            #expect(try await registry.call("GET", "/readyz", token: nil).status == 200)
            let metrics = try await registry.call("GET", "/metrics", token: nil)
            #expect(metrics.status == 200)
            #expect(metrics.text.contains("weft_registry_http_requests_total"))
            #expect(metrics.text.contains(#"status="401""#))
        }
    }

    @Test func answersUnknownPathsAndMethodsWithProblems() async throws {
        try await RegistryHarness.with { registry in

            let unknown = try await registry.call("GET", "/v1/nope")
            #expect(unknown.status == 404)
            #expect(unknown.header("Content-Type") == "application/problem+json")
            // Methods the HTTP parser knows but the API does not use are refused with
            // 405 and counted under one label value; unknown tokens never get past
            // the parser (400).
            for name in ["PROPFIND", "MKCOL", "PURGE"] {
                let refused = try await registry.call(name, "/v1/services")
                #expect(refused.status == 405, "\(name): \(refused.status)")
            }
            #expect(try await registry.call("BREW", "/v1/services").status == 400)
            let metrics = try await registry.call("GET", "/metrics", token: nil).text
            #expect(!metrics.contains("PROPFIND"))
            #expect(metrics.contains(#"method="other""#))
            let method = try await registry.call("PATCH", "/v1/services/shop/payments", body: "{}")
            #expect(method.status == 405)
            #expect(method.header("Allow") == "GET, PUT, DELETE")
            let badName = try await registry.call("GET", "/v1/services/Shop/payments")
            #expect(badName.status == 400)
            #expect((badName.json["detail"] as? String)?.hasPrefix("path:") == true)
            let unknownParameter = try await registry.call("GET", "/v1/services?limt=5")
            #expect(unknownParameter.status == 400)
            #expect((unknownParameter.json["detail"] as? String)?.contains("limt: unknown query parameter") == true)
        }
    }

    @Test func refusesBadBodiesPrecisely() async throws {
        try await RegistryHarness.with { registry in

            let malformed = try await registry.call("POST", "/v1/services", body: #"{"name": "payments""#)
            #expect(malformed.status == 400)
            #expect(malformed.json["type"] as? String == "https://weft.dev/problems/invalid-request")

            let typo = try await registry.call("POST", "/v1/services", body: #"{"name":"payments","protocl":"grpc"}"#)
            #expect(typo.status == 400)
            let errors = typo.json["errors"] as? [[String: String]]
            #expect(errors?.first?["field"] == "protocl")

            let duplicate = try await registry.call("POST", "/v1/services", body: #"{"name":"a","name":"b"}"#)
            #expect(duplicate.status == 400)
            #expect((duplicate.json["detail"] as? String)?.contains("duplicate key") == true)

            let badProtocol = try await registry.call(
                "POST", "/v1/services", body: #"{"name":"payments","protocol":"ftp"}"#)
            #expect(badProtocol.status == 400)
            #expect((badProtocol.json["detail"] as? String)?.contains("expected one of http, http2, grpc, tcp") == true)

            let empty = try await registry.call("POST", "/v1/services", body: "")
            #expect(empty.status == 400)

            let form = try await registry.call(
                "POST", "/v1/services", body: Self.payments, contentType: "application/x-www-form-urlencoded")
            #expect(form.status == 415)

            let huge = "{\"name\":\"" + String(repeating: "a", count: 1_100_000) + "\"}"
            let tooLarge = try await registry.call("POST", "/v1/services", body: huge)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.header("Content-Type") == "application/problem+json")

            // Nothing of the above was stored.
            let list = try await registry.call("GET", "/v1/services")
            #expect((list.json["items"] as? [Any])?.isEmpty == true)
            let audit = try await registry.call("GET", "/v1/audit")
            #expect((audit.json["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func createsReadsUpdatesAndDeletesServicesWithVersions() async throws {
        try await RegistryHarness.with { registry in

            let created = try await registry.call("POST", "/v1/services", body: Self.payments)
            #expect(created.status == 201)
            #expect(created.header("Location") == "/v1/services/shop/payments")
            let etag = try #require(created.header("ETag"))
            #expect(try await registry.call("POST", "/v1/services", body: Self.payments).status == 409)

            let read = try await registry.call("GET", "/v1/services/shop/payments")
            #expect(read.status == 200)
            #expect(read.header("ETag") == etag)
            #expect(read.json["protocol"] as? String == "grpc")

            // An update naming the current version applies; a stale one is refused.
            let http2 = #"{"name":"payments","namespace":"shop","protocol":"http2"}"#
            let updated = try await registry.call(
                "PUT", "/v1/services/shop/payments", body: http2, headers: ["If-Match": etag])
            #expect(updated.status == 200)
            #expect(updated.header("ETag") != etag)
            let stale = try await registry.call(
                "PUT", "/v1/services/shop/payments", body: Self.payments, headers: ["If-Match": etag])
            #expect(stale.status == 412)
            #expect(try await registry.call("GET", "/v1/services/shop/payments").json["protocol"] as? String == "http2")
            let badTag = try await registry.call(
                "PUT", "/v1/services/shop/payments", body: http2, headers: ["If-Match": "W/\"x\""])
            #expect(badTag.status == 400)
            let mismatch = try await registry.call("PUT", "/v1/services/shop/other", body: http2)
            #expect(mismatch.status == 400)

            // A service with instances cannot be deleted.
            #expect(
                try await registry.call("PUT", "/v1/instances/shop/payments/p-1", body: Self.instance("p-1")).status
                    == 200)
            let busy = try await registry.call("DELETE", "/v1/services/shop/payments")
            #expect(busy.status == 409)
            #expect((busy.json["detail"] as? String)?.contains("1 instance") == true)
            #expect(try await registry.call("DELETE", "/v1/instances/shop/payments/p-1").status == 204)
            #expect(try await registry.call("DELETE", "/v1/instances/shop/payments/p-1").status == 404)
            #expect(try await registry.call("DELETE", "/v1/services/shop/payments").status == 204)
            #expect(try await registry.call("GET", "/v1/services/shop/payments").status == 404)

            // Every change is in the audit log, with its actor and before/after.
            let audit = try await registry.call("GET", "/v1/audit?limit=100")
            let entries = try #require(audit.json["items"] as? [[String: Any]])
            #expect(
                entries.map { $0["action"] as? String }
                    == ["create", "update", "register", "deregister", "delete"])
            #expect(entries.allSatisfy { $0["actor"] as? String == "admin" })
            #expect((entries[1]["old"] as? String)?.contains("grpc") == true)
            #expect((entries[1]["new"] as? String)?.contains("http2") == true)
            let versions = entries.compactMap { $0["version"] as? Int }
            #expect(versions == versions.sorted() && Set(versions).count == versions.count)
        }
    }

    @Test func pagesThroughLists() async throws {
        try await RegistryHarness.with { registry in
            for name in ["e", "a", "d", "b", "c"] {
                #expect(try await registry.call("POST", "/v1/services", body: #"{"name":"\#(name)"}"#).status == 201)
            }
            var names: [String] = []
            var path = "/v1/services?limit=2"
            var pages = 0
            while true {
                let page = try await registry.call("GET", path)
                #expect(page.status == 200)
                names += (page.json["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                pages += 1
                guard let next = page.json["next"] as? String else { break }
                path =
                    "/v1/services?limit=2&after=\(next.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
            }
            #expect(names == ["a", "b", "c", "d", "e"])
            #expect(pages == 3)
            // Names where "/" sorts differently from name order ("a-b" < "a/" as text,
            // "a" < "a-b" as names): every item exactly once, whatever the page size.
            for (namespace, name) in [("a", "x"), ("a-b", "x"), ("a", "x-y"), ("a0", "x")] {
                #expect(
                    try await registry.call(
                        "POST", "/v1/services", body: #"{"name":"\#(name)","namespace":"\#(namespace)"}"#
                    )
                    .status == 201)
                let instance =
                    #"{"id":"i","service":"\#(name)","namespace":"\#(namespace)","address":"10.0.0.1","port":80}"#
                #expect(
                    try await registry.call("PUT", "/v1/instances/\(namespace)/\(name)/i", body: instance).status == 200
                )
            }
            for (collection, key) in [("services", "name"), ("instances", "service")] {
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let after =
                        cursor.map { "&after=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
                        ?? ""
                    let page = try await registry.call("GET", "/v1/\(collection)?limit=1\(after)")
                    seen += (page.json["items"] as? [[String: Any]] ?? []).map {
                        "\($0["namespace"] as? String ?? "")/\($0[key] as? String ?? "")"
                    }
                    cursor = page.json["next"] as? String
                } while cursor != nil && seen.count < 20
                let expected = collection == "services" ? 9 : 4
                #expect(seen.count == expected, "\(collection): \(seen)")
                #expect(Set(seen).count == seen.count, "\(collection) repeated an item: \(seen)")
            }
            #expect(try await registry.call("GET", "/v1/services?limit=0").status == 400)
            #expect(try await registry.call("GET", "/v1/services?limit=1001").status == 400)
            #expect(try await registry.call("GET", "/v1/services?limit=2&limit=3").status == 400)
            let audit = try await registry.call("GET", "/v1/audit?limit=2")
            #expect(audit.json["next"] as? String == "2")
            let rest = try await registry.call("GET", "/v1/audit?after=2")
            #expect((rest.json["items"] as? [Any])?.count == 11)
        }
    }

    @Test func storesRoutesPoliciesIntentionsAndDefaults() async throws {
        try await RegistryHarness.with { registry in

            // Invalid routes are refused with the field that is wrong.
            let badWeights =
                #"{"routes":[{"name":"split","destinations":[{"service":"a","weight":60},{"service":"b","weight":30}]}]}"#
            let refused = try await registry.call("PUT", "/v1/routes/gateways/default/edge", body: badWeights)
            #expect(refused.status == 400)
            #expect((refused.json["errors"] as? [[String: String]])?.first?["field"] == "routes[0].destinations")
            let badRegex =
                #"{"routes":[{"name":"r","match":{"path":{"regex":"(a"}},"destinations":[{"service":"a"}]}]}"#
            let regex = try await registry.call("PUT", "/v1/routes/services/default/a", body: badRegex)
            #expect(regex.status == 400)
            #expect((regex.json["errors"] as? [[String: String]])?.first?["field"] == "routes[0].match.path.regex")

            let routes =
                #"{"routes":[{"name":"kiosk","match":{"headers":[{"name":"x-terminal-type","exact":"kiosk"}]},"destinations":[{"service":"catalog"}]}]}"#
            let stored = try await registry.call("PUT", "/v1/routes/gateways/default/edge", body: routes)
            #expect(stored.status == 200)
            let etag = try #require(stored.header("ETag"))
            let again = try await registry.call("PUT", "/v1/routes/gateways/default/edge", body: routes)
            #expect(again.header("ETag") == etag, "an identical write changes nothing")
            #expect(try await registry.call("GET", "/v1/routes/gateways").json["items"] as? [Any] != nil)
            // Read back as written.
            let readRoutes = try await registry.call("GET", "/v1/routes/gateways/default/edge")
            #expect(readRoutes.status == 200)
            #expect(readRoutes.header("ETag") == etag)
            let route = try #require((readRoutes.json["routes"] as? [[String: Any]])?.first, "\(readRoutes.text)")
            #expect(route["name"] as? String == "kiosk")
            let header = ((route["match"] as? [String: Any])?["headers"] as? [[String: Any]])?.first
            #expect(header?["name"] as? String == "x-terminal-type" && header?["exact"] as? String == "kiosk")
            #expect(((route["destinations"] as? [[String: Any]])?.first?["service"] as? String) == "catalog")
            // The refused writes left nothing behind.
            #expect(try await registry.call("GET", "/v1/routes/services/default/a").status == 404)
            #expect(try await registry.call("GET", "/v1/routes/services/default/edge").status == 404)

            let policy = #"{"service":"catalog","load_balancer":{"type":"round_robin"}}"#
            #expect(try await registry.call("PUT", "/v1/policies/default/catalog", body: policy).status == 200)
            let wrongPolicy = #"{"service":"catalog","load_balancer":{"type":"round_robin","choice_count":3}}"#
            #expect(try await registry.call("PUT", "/v1/policies/default/catalog", body: wrongPolicy).status == 400)
            #expect(try await registry.call("PUT", "/v1/policies/default/other", body: policy).status == 400)
            // The stored policy is the one accepted, untouched by the refusals.
            let readPolicy = try await registry.call("GET", "/v1/policies/default/catalog")
            #expect(readPolicy.status == 200)
            #expect(readPolicy.json["service"] as? String == "catalog")
            let balancer = readPolicy.json["load_balancer"] as? [String: Any]
            #expect(
                balancer?["type"] as? String == "round_robin" && balancer?["choice_count"] == nil, "\(readPolicy.text)")
            #expect(try await registry.call("GET", "/v1/policies/default/other").status == 404)

            let intention =
                #"{"source":"spiffe://weft.local/ns/default/sa/web","destination":"catalog","action":"allow","methods":["GET"]}"#
            let created = try await registry.call("POST", "/v1/intentions", body: intention)
            #expect(created.status == 201)
            let id = try #require(created.json["id"] as? Int)
            #expect(created.header("Location") == "/v1/intentions/\(id)")
            let clash = try await registry.call("POST", "/v1/intentions", body: intention)
            #expect(clash.status == 409)
            #expect((clash.json["detail"] as? String)?.contains("intention \(id)") == true)
            let badSource = #"{"source":"spiffe://weft.local/ns/*/sa/web","destination":"catalog","action":"allow"}"#
            #expect(try await registry.call("POST", "/v1/intentions", body: badSource).status == 400)
            let readIntention = try await registry.call("GET", "/v1/intentions/\(id)")
            #expect(readIntention.status == 200)
            #expect(readIntention.json["source"] as? String == "spiffe://weft.local/ns/default/sa/web")
            #expect(readIntention.json["destination"] as? String == "catalog")
            #expect(readIntention.json["action"] as? String == "allow")
            #expect(readIntention.json["methods"] as? [String] == ["GET"], "\(readIntention.text)")
            #expect(try await registry.call("GET", "/v1/intentions/x").status == 400)
            #expect(try await registry.call("DELETE", "/v1/intentions/\(id)").status == 204)
            #expect(try await registry.call("GET", "/v1/intentions/\(id)").status == 404)

            let defaults = try await registry.call("GET", "/v1/defaults")
            #expect(defaults.json["default_action"] as? String == "deny")
            #expect(try await registry.call("PUT", "/v1/defaults", body: #"{"default_action":"maybe"}"#).status == 400)
            #expect(try await registry.call("PUT", "/v1/defaults", body: #"{"default_action":"allow"}"#).status == 200)
            #expect(try await registry.call("GET", "/v1/defaults").json["default_action"] as? String == "allow")
            #expect(try await registry.call("DELETE", "/v1/defaults").status == 204)
            #expect(try await registry.call("GET", "/v1/defaults").json["default_action"] as? String == "deny")
        }
    }

    @Test func letsAServiceCredentialActOnlyForItsOwnService() async throws {
        try await RegistryHarness.with { registry in
            #expect(try await registry.call("POST", "/v1/services", body: Self.payments).status == 201)
            #expect(
                try await registry.call("POST", "/v1/services", body: #"{"name":"billing","namespace":"shop"}"#).status
                    == 201)
            #expect(try await registry.call("POST", "/v1/services/shop/nope/credentials").status == 404)
            let issued = try await registry.call("POST", "/v1/services/shop/payments/credentials")
            #expect(issued.status == 201)
            let secret = try #require(issued.json["secret"] as? String)
            #expect(secret.hasPrefix("wsc_"))
            let listed = try await registry.call("GET", "/v1/services/shop/payments/credentials")
            #expect(!listed.text.contains(secret), "the secret is shown once")

            // Its own instances: register, heartbeat, deregister.
            let own = try await registry.call(
                "PUT", "/v1/instances/shop/payments/p-1", body: Self.instance("p-1"), token: secret)
            #expect(own.status == 200)
            #expect(
                try await registry.call("PUT", "/v1/instances/shop/payments/p-1/heartbeat", token: secret).status == 200
            )
            // Another service's: refused, whatever the body says.
            let other = try await registry.call(
                "PUT", "/v1/instances/shop/billing/b-1", body: Self.instance("b-1", service: "billing"), token: secret)
            #expect(other.status == 403)
            let smuggled = try await registry.call(
                "PUT", "/v1/instances/shop/payments/b-1", body: Self.instance("b-1", service: "billing"), token: secret)
            #expect(smuggled.status == 400)
            // Admin calls: refused.
            #expect(try await registry.call("GET", "/v1/services", token: secret).status == 403)
            #expect(
                try await registry.call("PUT", "/v1/instances/shop/payments/p-1/maintenance", token: secret).status
                    == 403)
            #expect(
                try await registry.call(
                    "PUT", "/v1/instances/shop/payments/p-2", body: Self.instance("p-2", health: "maintenance"),
                    token: secret
                ).status == 403)
            // The audit log names the service as the actor.
            let audit = try await registry.call("GET", "/v1/audit")
            #expect(audit.text.contains("service:shop/payments"))

            // Deleted, it stops working.
            let id = try #require(issued.json["id"] as? Int)
            #expect(try await registry.call("DELETE", "/v1/services/shop/payments/credentials/\(id)").status == 204)
            #expect(
                try await registry.call("PUT", "/v1/instances/shop/payments/p-1/heartbeat", token: secret).status == 401
            )
        }
    }

    @Test func registersInstancesWithHealthMaintenanceAndHeartbeats() async throws {
        try await RegistryHarness.with { registry in
            let unknown = try await registry.call("PUT", "/v1/instances/shop/payments/p-1", body: Self.instance("p-1"))
            #expect(unknown.status == 404)
            #expect((unknown.json["detail"] as? String)?.contains("create it before its instances") == true)
            #expect(try await registry.call("POST", "/v1/services", body: Self.payments).status == 201)
            let badTTL = try await registry.call(
                "PUT", "/v1/instances/shop/payments/p-1", body: Self.instance("p-1", ttl: "1s"))
            #expect(badTTL.status == 400)
            #expect((badTTL.json["errors"] as? [[String: String]])?.first?["field"] == "ttl")
            let wrongID = try await registry.call("PUT", "/v1/instances/shop/payments/p-2", body: Self.instance("p-1"))
            #expect(wrongID.status == 400)

            let registered = try await registry.call(
                "PUT", "/v1/instances/shop/payments/p-1", body: Self.instance("p-1"))
            #expect(registered.status == 200)
            #expect(registered.json["health"] as? String == "passing")
            #expect(registered.json["expires_at"] as? String != nil)
            let same = try await registry.call("PUT", "/v1/instances/shop/payments/p-1", body: Self.instance("p-1"))
            #expect(same.header("ETag") == registered.header("ETag"), "re-registering unchanged bumps nothing")

            #expect(try await registry.call("PUT", "/v1/instances/shop/payments/nope/heartbeat").status == 404)
            let badBeat = try await registry.call(
                "PUT", "/v1/instances/shop/payments/p-1/heartbeat", body: #"{"health":"maintenance"}"#)
            #expect(badBeat.status == 400)
            let warning = try await registry.call(
                "PUT", "/v1/instances/shop/payments/p-1/heartbeat", body: #"{"health":"warning"}"#)
            #expect(warning.status == 200)
            #expect(
                try await registry.call("GET", "/v1/instances/shop/payments/p-1").json["health"] as? String == "warning"
            )

            #expect(try await registry.call("PUT", "/v1/instances/shop/payments/p-1/maintenance").status == 204)
            #expect(
                try await registry.call("GET", "/v1/instances/shop/payments/p-1").json["health"] as? String
                    == "maintenance")
            // Maintenance survives a re-registration (the sidecar restarting).
            _ = try await registry.call("PUT", "/v1/instances/shop/payments/p-1", body: Self.instance("p-1"))
            #expect(
                try await registry.call("GET", "/v1/instances/shop/payments/p-1").json["health"] as? String
                    == "maintenance")
            #expect(try await registry.call("DELETE", "/v1/instances/shop/payments/p-1/maintenance").status == 204)
            #expect(
                try await registry.call("GET", "/v1/instances/shop/payments/p-1").json["health"] as? String == "passing"
            )

            let filtered = try await registry.call("GET", "/v1/instances?namespace=shop&service=payments")
            #expect((filtered.json["items"] as? [Any])?.count == 1)
            #expect(try await registry.call("GET", "/v1/instances?service=Payments").status == 400)
        }
    }
}
