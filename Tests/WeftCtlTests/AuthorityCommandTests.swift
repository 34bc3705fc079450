import Foundation
import Testing
import WeftTestSupport

/// `weftctl ca …`, the built binary against a real weft-ca on a throwaway
/// PostgreSQL: the certificates it issued, revoking one, its roots.
@Suite(.serialized) struct AuthorityCommandTests {
    static let weftctl = ChildProcess.builtProduct("weftctl")

    @Test func listsCertificatesRevokesOneAndShowsRoots() async throws {
        try await TemporaryPostgres.with { postgres in
            try await blocking {
                let mesh = try MeshFixture()
                defer { mesh.stop() }
                // No propagation wait between publishing and activating a root,
                // so the rotation runs in the test's time.
                let ca = try mesh.startAuthority(postgres, extra: ["--root-propagation", "0s"])
                // One certificate issued the way a workload gets its first:
                // a CSR made by openssl, with a join token.
                let identity = MeshFixture.identity("payments")
                let token = try ca.joinToken(for: identity)
                let key = mesh.scratch.file("payments.key")
                let csrFile = mesh.scratch.file("payments.csr")
                _ = try Command.run(
                    "/usr/bin/openssl",
                    ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
                _ = try Command.run(
                    "/usr/bin/openssl",
                    [
                        "req", "-new", "-key", key, "-subj", "/", "-addext", "subjectAltName=URI:\(identity)", "-out",
                        csrFile,
                    ])
                let body = String(
                    decoding: try JSONSerialization.data(
                        withJSONObject: [
                            "csr": try String(contentsOfFile: csrFile, encoding: .utf8), "join_token": token,
                        ]),
                    as: UTF8.self)
                let (signed, answer) = try ca.call("POST", "/v1/certificates/sign", body)
                #expect((200..<300).contains(signed), "\(answer)")

                let common = [
                    "--ca", ca.url, "--ca-bundle", ca.bundleFile, "--ca-token-file",
                    mesh.scratch.file("ca-admin-token"),
                ]
                func weftctl(_ arguments: [String]) throws -> (status: Int32, output: String) {
                    try ChildProcess.run(Self.weftctl, arguments)
                }
                let listed = try weftctl(["ca", "certificates"] + common)
                #expect(listed.status == 0, "\(listed.output)")
                #expect(listed.output.contains("SERIAL") && listed.output.contains(identity), "\(listed.output)")
                #expect(listed.output.contains("valid"), "\(listed.output)")
                let json = try weftctl(["ca", "certificates", "-o", "json", "--identity", identity] + common)
                let items = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]] ?? []
                let serial = try #require(items.first?["serial"] as? String, "\(json.output)")
                #expect(items.count == 1)

                // weftctl status with the CA: the certificate (five minutes long)
                // is in force and expires within the hour.
                let registry = try mesh.startRegistry(postgres)
                let status = try weftctl([
                    "status", "--registry", "http://127.0.0.1:\(registry.port)", "--admin-token-file",
                    registry.adminTokenFile, "--ca", ca.url, "--ca-bundle", ca.bundleFile, "--ca-token-file",
                    mesh.scratch.file("ca-admin-token"), "--expiring-within", "1h",
                ])
                #expect(
                    status.status == 0 && status.output.contains("1 valid, 1 expiring within 1h"), "\(status.output)")
                #expect(status.output.contains("\(identity) \(serial): "), "\(status.output)")
                let badWindow = try weftctl([
                    "status", "--registry", "http://127.0.0.1:\(registry.port)", "--admin-token-file",
                    registry.adminTokenFile, "--expiring-within", "soon",
                ])
                #expect(badWindow.status == 1 && badWindow.output.contains("--expiring-within"), "\(badWindow.output)")

                let revoked = try weftctl(["ca", "revoke", serial, "--reason", "terminal reported stolen"] + common)
                #expect(
                    revoked.status == 0 && revoked.output.contains("certificate \(serial): revoked"),
                    "\(revoked.output)")
                #expect(try weftctl(["ca", "certificates"] + common).output.contains("revoked"))

                // The same from the environment alone.
                let fromEnvironment = try ChildProcess.run(
                    "/usr/bin/env",
                    [
                        "WEFT_CA=\(ca.url)", "WEFT_CA_BUNDLE=\(ca.bundleFile)",
                        "WEFT_CA_TOKEN_FILE=\(mesh.scratch.file("ca-admin-token"))", Self.weftctl, "ca", "roots",
                    ])
                #expect(
                    fromEnvironment.status == 0 && fromEnvironment.output.contains("active"),
                    "\(fromEnvironment.output)")
                let roots = try weftctl(["ca", "roots"] + common)
                #expect(
                    roots.status == 0 && roots.output.contains("GENERATION") && roots.output.contains("active"),
                    "\(roots.output)")

                // Join tokens: made (the secret printed once), listed, revoked.
                let made = try weftctl(
                    ["ca", "tokens", "--create", MeshFixture.identity("catalog"), "--uses", "3"] + common)
                #expect(made.status == 0 && made.output.hasPrefix("wjt_"), "\(made.output)")
                let tokens = try weftctl(["ca", "tokens", "-o", "json"] + common)
                let listedTokens =
                    try JSONSerialization.jsonObject(with: Data(tokens.output.utf8)) as? [[String: Any]] ?? []
                let catalog = try #require(
                    listedTokens.first { $0["identity"] as? String == MeshFixture.identity("catalog") })
                #expect(catalog["max_uses"] as? Int == 3 && catalog["secret"] == nil, "\(tokens.output)")
                let tokenID = "\(catalog["id"] ?? "")"
                let revokedToken = try weftctl(["ca", "tokens", "--revoke", tokenID] + common)
                #expect(revokedToken.status == 0 && revokedToken.output.contains("revoked"), "\(revokedToken.output)")
                // A root rotation, step by step, the state shown each time.
                let published = try weftctl(["ca", "rotate", "publish"] + common)
                #expect(
                    published.status == 0 && published.output.contains("root generation 2: published"),
                    "\(published.output)")
                // The CA's own safety comes through with its reason: the active
                // root cannot be retired.
                let early = try weftctl(["ca", "rotate", "retire", "1"] + common)
                #expect(early.status == 1 && early.output.contains("the CA answered 409 to POST"), "\(early.output)")
                #expect(early.output.contains("is the active one"), "\(early.output)")
                let activated = try weftctl(["ca", "rotate", "activate", "2"] + common)
                #expect(
                    activated.status == 0 && activated.output.contains("root generation 2: active"),
                    "\(activated.output)")
                let retired = try weftctl(["ca", "rotate", "retire", "1"] + common)
                #expect(
                    retired.status == 0 && retired.output.contains("root generation 1: retired"), "\(retired.output)")
                #expect(
                    try weftctl(["ca", "rotate", "activate"] + common).output.contains("needs the root's generation"))
                #expect(try weftctl(["ca", "rotate", "spin"] + common).status == 64)

                // Refusals say what to do, with exit 1; a bad flag is 64.
                let unknown = try weftctl(["ca", "revoke", "abcdef0123"] + common)
                #expect(unknown.status == 1 && unknown.output.contains("404"), "\(unknown.output)")
                let noCA = try weftctl(["ca", "roots", "--ca-bundle", ca.bundleFile])
                #expect(noCA.status == 1 && noCA.output.contains("no CA: pass --ca"), "\(noCA.output)")
                let wrongToken = try mesh.scratch.write("wrong-token", "not-the-token\n")
                let refused = try weftctl(
                    ["ca", "roots", "--ca", ca.url, "--ca-bundle", ca.bundleFile, "--ca-token-file", wrongToken])
                #expect(refused.status == 1 && refused.output.contains("401"), "\(refused.output)")
                #expect(try weftctl(["ca", "certificates", "-o", "xml"] + common).status == 64)
                let yaml = try weftctl(["ca", "roots", "-o", "yaml"] + common)
                #expect(yaml.status == 0 && yaml.output.contains("state: active"), "\(yaml.output)")
            }
        }
    }
}
