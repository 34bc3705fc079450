import Foundation
import Testing
import WeftTestSupport

/// The CA's API over real TLS (curl), on a real PostgreSQL: join tokens,
/// signing with a token and renewing over mutual TLS, every refusal with its
/// precise reason, the ledger, revocation in the bundle, and admin
/// authentication.
@Suite struct CAAPITests {
    @Test func joinTokensAreShownOnceStoredHashedAndSignOnce() async throws {
        try await CAHarness.with { ca in
            let identity = CAHarness.identity("web")
            let created = try await ca.call(
                "POST", "/v1/join-tokens", body: #"{"identity":"\#(identity)","max_uses":2,"ttl":"10m"}"#)
            #expect(created.status == 201)
            let secret = try #require(created.json["secret"] as? String)
            #expect(secret.hasPrefix("wjt_"))
            let token = try #require(created.json["token"] as? [String: Any])
            let id = try #require(token["id"] as? String)
            #expect(token["max_uses"] as? Int == 2 && token["uses"] as? Int == 0)

            // Never shown again, never stored in clear.
            let listed = try await ca.call("GET", "/v1/join-tokens")
            #expect(listed.status == 200 && !listed.text.contains(secret) && listed.text.contains(id))
            // Ids the database cannot hold (a NUL byte, found by schemathesis as
            // a 500) are refused before the query: 400 as a cursor, 404 as a name.
            let badCursor = try await ca.call("GET", "/v1/join-tokens?after=%1D%F0%00N&limit=5")
            #expect(badCursor.status == 400 && badCursor.text.contains("after"), "\(badCursor.text)")
            #expect(try await ca.call("GET", "/v1/join-tokens/jt_%00x").status == 404)
            #expect(try await ca.call("DELETE", "/v1/join-tokens/jt_%00x").status == 404)
            #expect(try await ca.call("GET", "/v1/join-tokens?after=\(id)").status == 200)
            let stored = try await ca.sql("SELECT sha256 FROM ca_join_tokens")
            #expect(stored.count == 1 && stored[0][0]?.count == 64 && stored[0][0] != secret)
            let dump = try await ca.sql("SELECT row_to_json(t)::text FROM ca_join_tokens t")
            #expect(!(dump[0][0] ?? "").contains(secret.dropFirst(4)))

            // Two uses, then used up.
            for attempt in 1...3 {
                let csr = try ca.scratch.csr("web\(attempt)", uris: [identity])
                let reply = try await ca.call(
                    "POST", "/v1/certificates/sign", body: try CAHarness.signingBody(csr: csr, token: secret),
                    token: nil)
                if attempt <= 2 {
                    #expect(reply.status == 200, "\(reply.text)")
                    #expect(reply.json["identity"] as? String == identity)
                } else {
                    #expect(reply.status == 401)
                    #expect(reply.problemType == "join-token-rejected")
                    #expect(reply.detail == "join token \(id) is used up (2 of 2 uses)")
                }
            }
            let after = try await ca.call("GET", "/v1/join-tokens/\(id)")
            #expect(after.json["uses"] as? Int == 2)
        }
    }

    @Test func workloadsRacingForATokenCannotOverspendIt() async throws {
        try await CAHarness.with { ca in
            let identity = CAHarness.identity("batch")
            let (secret, id) = try await ca.joinToken(for: identity, maxUses: 3)
            let bodies = try (0..<8).map { index in
                try CAHarness.signingBody(csr: try ca.scratch.csr("racer\(index)", uris: [identity]), token: secret)
            }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for body in bodies {
                    group.addTask { try await ca.call("POST", "/v1/certificates/sign", body: body, token: nil).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 3, "\(statuses)")
            #expect(statuses.filter { $0 == 401 }.count == 5, "\(statuses)")
            let token = try await ca.call("GET", "/v1/join-tokens/\(id)")
            #expect(token.json["uses"] as? Int == 3)
            let ledger = try await ca.call("GET", "/v1/certificates?identity=\(identity)")
            #expect((ledger.json["items"] as? [Any])?.count == 3)
        }
    }

    @Test func issuedChainsVerifyWithTheOpenSSLToolAndAreRecorded() async throws {
        try await CAHarness.with { ca in
            let web = try await ca.enroll("web")
            let leaf = web.client.certificateFile
            for purpose in ["sslclient", "sslserver"] {
                let verified = try ca.scratch.openssl([
                    "verify", "-x509_strict", "-purpose", purpose, "-CAfile", ca.bundleFile, leaf,
                ])
                #expect(verified.status == 0, "\(verified.output)")
            }
            let text = try ca.scratch.openssl(["x509", "-noout", "-text", "-in", leaf]).output
            #expect(text.contains("URI:\(web.identity)"))
            #expect(text.contains("TLS Web Server Authentication, TLS Web Client Authentication"))

            let entry = try await ca.call("GET", "/v1/certificates/\(web.serial)")
            #expect(entry.status == 200)
            #expect(entry.json["identity"] as? String == web.identity)
            #expect(entry.json["via"] as? String == "join-token")
            #expect(entry.json["issuer_generation"] as? Int == 1)
            let byIdentity = try await ca.call("GET", "/v1/certificates?identity=\(web.identity)")
            #expect((byIdentity.json["items"] as? [Any])?.count == 1)
        }
    }

    @Test func badCSRsAreRefusedPreciselyAndSpendNoTokenUse() async throws {
        try await CAHarness.with { ca in
            let identity = CAHarness.identity("api")
            let (secret, id) = try await ca.joinToken(for: identity)
            func sign(_ csr: String) async throws -> CAHarness.Reply {
                try await ca.call(
                    "POST", "/v1/certificates/sign", body: try CAHarness.signingBody(csr: csr, token: secret),
                    token: nil)
            }

            let garbage = try await sign(
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
            #expect(garbage.status == 400 && garbage.problemType == "invalid-csr", "\(garbage.text)")
            let notPEM = try await sign("hello")
            #expect(notPEM.status == 400 && notPEM.text.contains("csr"), "\(notPEM.text)")

            // One bit of the signature flipped.
            let good = try ca.scratch.csr("tampered", uris: [identity])
            var der = try #require(
                Data(base64Encoded: good.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()))
            der[der.count - 3] ^= 0x01
            let tampered =
                "-----BEGIN CERTIFICATE REQUEST-----\n"
                + der.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
                + "\n-----END CERTIFICATE REQUEST-----\n"
            let badSignature = try await sign(tampered)
            #expect(badSignature.status == 400 && badSignature.problemType == "bad-signature", "\(badSignature.text)")

            let weak = try await sign(try ca.scratch.csr("weak", keyType: "rsa:512", uris: [identity]))
            #expect(weak.status == 400 && weak.problemType == "unsupported-key")
            #expect(weak.detail.contains("RSA-512 is too weak"))
            let edwards = try await sign(try ca.scratch.csr("ed", keyType: "ed25519", uris: [identity]))
            #expect(edwards.status == 400 && edwards.problemType == "unsupported-key")

            let other = try await sign(try ca.scratch.csr("other", uris: [CAHarness.identity("payments")]))
            #expect(other.status == 403 && other.problemType == "identity-mismatch")
            #expect(other.detail.contains("authorizes exactly \(identity)"))

            let unchanged = try await ca.call("GET", "/v1/join-tokens/\(id)")
            #expect(unchanged.json["uses"] as? Int == 0)
            let ledger = try await ca.call("GET", "/v1/certificates")
            #expect((ledger.json["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func expiredRevokedAndUnknownTokensAreRefused() async throws {
        try await CAHarness.with { ca in
            let identity = CAHarness.identity("batch")
            let csr = try ca.scratch.csr("batch", uris: [identity])
            func sign(_ token: String) async throws -> CAHarness.Reply {
                try await ca.call(
                    "POST", "/v1/certificates/sign", body: try CAHarness.signingBody(csr: csr, token: token), token: nil
                )
            }
            let expired = try await ca.joinToken(for: identity)
            _ = try await ca.sql(
                "UPDATE ca_join_tokens SET expires_at = now() - interval '1 second', created_at = now() - interval '1 hour' WHERE id = $1",
                [expired.id])
            let expiredReply = try await sign(expired.secret)
            #expect(expiredReply.status == 401 && expiredReply.problemType == "join-token-rejected")
            #expect(expiredReply.detail.hasPrefix("join token \(expired.id) expired at "), "\(expiredReply.detail)")

            let revoked = try await ca.joinToken(for: identity)
            let revocation = try await ca.call("DELETE", "/v1/join-tokens/\(revoked.id)")
            #expect(revocation.status == 200 && revocation.json["revoked_at"] is String)
            let revokedReply = try await sign(revoked.secret)
            #expect(
                revokedReply.status == 401 && revokedReply.detail.hasPrefix("join token \(revoked.id) was revoked at "))

            let unknown = try await sign("wjt_" + String(repeating: "A", count: 43))
            #expect(unknown.status == 401 && unknown.detail == "the join token is not known to this CA")
            let malformed = try await sign("not-a-token")
            #expect(malformed.status == 400 && malformed.text.contains("join_token"))

            // A token for another trust domain cannot even be created.
            let foreign = try await ca.call(
                "POST", "/v1/join-tokens", body: #"{"identity":"spiffe://elsewhere.test/ns/shop/sa/x"}"#)
            #expect(foreign.status == 400 && foreign.text.contains("trust domain"))
            // Nor one for the CA's own identity, which its serving certificate carries.
            let own = try await ca.call(
                "POST", "/v1/join-tokens",
                body: #"{"identity":"\#(CAHarness.identity("weft-ca", namespace: "weft-system"))"}"#)
            #expect(own.status == 400 && own.text.contains("the CA's own identity"), "\(own.text)")
        }
    }

    @Test func renewalNeedsACurrentUnrevokedCertificateOverMutualTLS() async throws {
        try await CAHarness.with { ca in
            let web = try await ca.enroll("web")
            let (renewal, renewed) = try await ca.renew(web)
            #expect(renewal.status == 200, "\(renewal.text)")
            #expect(renewed.serial != web.serial)
            let entry = try await ca.call("GET", "/v1/certificates/\(renewed.serial)")
            #expect(entry.json["via"] as? String == "renewal")
            #expect(entry.json["renewed_serial"] as? String == web.serial)

            // Without a certificate and without a token.
            let anonymous = try await ca.call(
                "POST", "/v1/certificates/sign", body: try CAHarness.signingBody(csr: web.csr), token: nil)
            #expect(anonymous.status == 401 && anonymous.problemType == "certificate-rejected")

            // A certificate may renew only its own identity.
            let other = try ca.scratch.csr("other", uris: [CAHarness.identity("payments")])
            let stolen = try await ca.call(
                "POST", "/v1/certificates/sign", body: try CAHarness.signingBody(csr: other), token: nil,
                client: renewed.client)
            #expect(stolen.status == 403 && stolen.problemType == "identity-mismatch")

            // Revoked: refused, and listed in the bundle with a new version.
            let before = try await ca.call("GET", "/v1/bundle", token: nil)
            let revoke = try await ca.call(
                "POST", "/v1/certificates/\(renewed.serial)/revoke", body: #"{"reason":"key compromise"}"#)
            #expect(revoke.status == 200 && revoke.json["revocation_reason"] as? String == "key compromise")
            let (refused, _) = try await ca.renew(renewed)
            #expect(refused.status == 401 && refused.problemType == "certificate-rejected")
            #expect(refused.detail == "certificate \(renewed.serial) has been revoked; get a new one with a join token")
            let after = try await ca.call("GET", "/v1/bundle", token: nil)
            #expect((after.json["revoked_serials"] as? [String]) == [renewed.serial])
            #expect((after.json["version"] as? Int ?? 0) > (before.json["version"] as? Int ?? 0))

            // A certificate from a CA the bundle does not hold never completes the handshake.
            let foreignKey = ca.scratch.file("foreign-key.pem")
            let foreignCertificate = ca.scratch.file("foreign.pem")
            let made = try ca.scratch.openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", foreignKey,
                "-out", foreignCertificate, "-subj", "/CN=intruder", "-days", "1",
                "-addext", "subjectAltName=URI:\(web.identity)",
            ])
            #expect(made.status == 0, "\(made.output)")
            let intruder = try await ca.call(
                "POST", "/v1/certificates/sign", body: try CAHarness.signingBody(csr: web.csr), token: nil,
                client: CAHarness.ClientCertificate(certificateFile: foreignCertificate, keyFile: foreignKey))
            #expect(intruder.curlStatus != 0 && intruder.status == 0, "\(intruder.status) \(intruder.text)")
            #expect(
                try await blocking {
                    try Command.tlsAlert(
                        port: ca.port, certificate: foreignCertificate, key: foreignKey, alpn: "http/1.1")
                } == "unknown ca")
        }
    }

    @Test func anExpiredCertificateIsRefusedWithItsExpiry() async throws {
        try await CAHarness.with(configuration: .init { $0.certificateLifetime = .seconds(2) }) { ca in
            let web = try await ca.enroll("web")
            try await Task.sleep(for: .seconds(3))
            let (refused, _) = try await ca.renew(web)
            #expect(refused.status == 401 && refused.problemType == "certificate-rejected", "\(refused.text)")
            #expect(refused.detail.hasPrefix("certificate \(web.serial) expired at "), "\(refused.detail)")
        }
    }

    @Test func adminCallsNeedTheTokenAndEveryRefusalIsAProblem() async throws {
        try await CAHarness.with { ca in
            for (method, path) in [
                ("GET", "/v1/join-tokens"), ("POST", "/v1/join-tokens"), ("GET", "/v1/certificates"),
                ("POST", "/v1/roots"), ("POST", "/v1/certificates/00ff/revoke"),
            ] {
                let missing = try await ca.call(method, path, body: "{}", token: nil)
                #expect(missing.status == 401, "\(method) \(path)")
                #expect(missing.header("WWW-Authenticate") == #"Bearer realm="weft-ca""#)
                #expect(missing.header("Content-Type") == "application/problem+json")
                let wrong = try await ca.call(method, path, body: "{}", token: "not-the-admin-token-at-all")
                #expect(wrong.status == 401 && wrong.detail == "the token is not the CA's admin token")
            }
            let unknown = try await ca.call("GET", "/v1/nothing")
            #expect(unknown.status == 404 && unknown.problemType == "not-found")
            let method = try await ca.call("PUT", "/v1/bundle", body: "{}")
            #expect(method.status == 405 && method.header("Allow") == "GET")
            let query = try await ca.call("GET", "/v1/certificates?limt=5")
            #expect(query.status == 400 && query.text.contains("limt"))
            let serial = try await ca.call("GET", "/v1/certificates/xyz")
            #expect(serial.status == 400 && serial.text.contains("serial"))
            let missingSerial = try await ca.call("GET", "/v1/certificates/abcdef")
            #expect(missingSerial.status == 404)
            let notJSON = try await ca.call("POST", "/v1/join-tokens", body: "identity=x", contentType: "text/plain")
            #expect(notJSON.status == 415)
            let huge = try await ca.call(
                "POST", "/v1/certificates/sign", body: #"{"csr":""# + String(repeating: "A", count: 70_000) + #""}"#,
                token: nil)
            #expect(huge.status == 413)
            let unknownField = try await ca.call(
                "POST", "/v1/join-tokens", body: #"{"identity":"\#(CAHarness.identity("x"))","uses":3}"#)
            #expect(unknownField.status == 400 && unknownField.text.contains("uses"))
            let generation = try await ca.call("POST", "/v1/roots/0/activate")
            #expect(generation.status == 400)
            let reasons = [
                #"{"reason":"line one\nline two"}"#, #"{"reason":""}"#,
                #"{"reason":""# + String(repeating: "x", count: 201) + #""}"#, #"{"why":"x"}"#, "[]",
            ]
            for body in reasons {
                let badReason = try await ca.call("POST", "/v1/certificates/00ff/revoke", body: body)
                #expect(badReason.status == 400, "\(body): \(badReason.text)")
            }
            let missingRoot = try await ca.call("POST", "/v1/roots/7/activate")
            #expect(missingRoot.status == 404)
        }
    }

    @Test func theBundleIsPublicAndPolledWithItsVersion() async throws {
        try await CAHarness.with { ca in
            let bundle = try await ca.call("GET", "/v1/bundle", token: nil)
            #expect(bundle.status == 200)
            #expect(bundle.json["trust_domain"] as? String == CAHarness.trustDomain)
            let roots = try #require(bundle.json["roots"] as? [String])
            #expect(roots.count == 1)
            #expect(roots[0] == (try String(contentsOfFile: ca.bundleFile, encoding: .utf8)))
            let etag = try #require(bundle.header("ETag"))
            let unchanged = try await ca.call("GET", "/v1/bundle", token: nil, headers: ["If-None-Match": etag])
            #expect(unchanged.status == 304 && unchanged.body.isEmpty)
            let stale = try await ca.call("GET", "/v1/bundle", token: nil, headers: ["If-None-Match": "\"0\""])
            #expect(stale.status == 200)
        }
    }

    @Test func signingIsRateLimitedPerClient() async throws {
        try await CAHarness.with(configuration: .init { $0.signRatePerClient = 1 }) { ca in
            // Eight at once from one address: a burst of two passes (to be refused
            // for their empty bodies), the rest are limited, however slowly curl
            // starts on a loaded machine (the bucket refills one per second).
            let replies = try await withThrowingTaskGroup(of: CAHarness.Reply.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await ca.call("POST", "/v1/certificates/sign", body: "{}", token: nil) }
                }
                return try await group.reduce(into: [CAHarness.Reply]()) { $0.append($1) }
            }
            let statuses = replies.map(\.status)
            #expect(statuses.filter { $0 == 400 }.count >= 2, "\(statuses)")
            let limited = replies.filter { $0.status == 429 }
            #expect(!limited.isEmpty, "\(statuses)")
            #expect(limited.allSatisfy { $0.header("Retry-After") == "1" && $0.problemType == "too-many-requests" })
            let metrics = try await ca.call("GET", "/metrics", token: nil)
            #expect(metrics.text.contains("weft_ca_sign_rate_limited_total"))
        }
    }
}
