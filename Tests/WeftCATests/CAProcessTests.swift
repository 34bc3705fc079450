import Foundation
import Testing
import WeftPostgres
import WeftTestSupport

/// The `weft-ca` executable as an operator runs it: flags and their
/// refusals, the data directory's permissions, a generated admin token,
/// passphrase-encrypted keys, an operator's root, SIGTERM, restarts.
@Suite struct CAProcessTests {
    static let binary = ChildProcess.builtProduct("weft-ca")

    /// A database of its own on the shared server, and a working directory.
    final class Setup: Sendable {
        let postgres: TemporaryPostgres
        let database: String
        let scratch: Scratch

        /// On the shared server, or on `postgres` (a test that stops its database).
        init(on postgres: TemporaryPostgres? = nil) async throws {
            self.postgres = try postgres ?? TemporaryPostgres.sharedInstance()
            database = "ca_process_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
            let admin = PostgresPool(PostgresPool.Configuration(url: self.postgres.url))
            try await admin.query("CREATE DATABASE \(database)")
            await admin.shutdown()
            scratch = try Scratch()
        }

        func drop() async {
            let admin = PostgresPool(PostgresPool.Configuration(url: postgres.url))
            _ = try? await admin.query("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            await admin.shutdown()
        }

        var url: String { postgres.url(database: database) }
        var dataDirectory: String { scratch.file("data") }

        /// Starts weft-ca in the scratch directory; returns it and its port (nil if it exited).
        func start(_ extra: [String] = [], environment: [String: String] = [:]) async throws -> (ChildProcess, Int?) {
            let process = try ChildProcess(
                "/usr/bin/env",
                [
                    "-C", scratch.path, CAProcessTests.binary, "--database-url", url, "--listen", "127.0.0.1:0",
                    "--data-dir", dataDirectory,
                ] + extra,
                environment: environment)
            // Until it listens, or says why it cannot start.
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline && !process.output.contains("listening (TLS)")
                && !process.output.contains("cannot start") && !process.output.contains("Error:")
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            guard process.output.contains("listening (TLS)"),
                let match = process.output.firstMatch(of: /address=127\.0\.0\.1:(\d+)/), let port = Int(match.1)
            else { return (process, nil) }
            return (process, port)
        }

        func curl(_ port: Int, _ path: String, token: String? = nil) async throws -> String {
            try await curlWithStatus(port, path, token: token).output
        }

        /// curl's exit code and output (body, or its error).
        func curlWithStatus(
            _ port: Int, _ path: String, token: String? = nil, body: String? = nil, client: (String, String)? = nil
        ) async throws -> (status: Int32, output: String) {
            var arguments = [
                "-sS", "--cacert", dataDirectory + "/trust-bundle.pem", "https://localhost:\(port)\(path)",
            ]
            if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
            if let body {
                arguments += [
                    "-H", "Content-Type: application/json", "--data-binary",
                    "@" + (try scratch.write("body-\(UUID().uuidString)", body)),
                ]
            }
            if let client { arguments += ["--cert", client.0, "--key", client.1] }
            let curl = try ChildProcess("/usr/bin/curl", arguments)
            let status = (await curl.exited() >> 8) & 0xff
            return (status, curl.output)
        }
    }

    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }

    @Test func documentsItsFlagsAndRefusesBadOnes() async throws {
        try await blocking {
            let help = try ChildProcess.run(Self.binary, ["--help"])
            #expect(help.status == 0)
            for text in [
                "--listen", "--database-url", "--admin-token-file", "--data-dir", "--trust-domain", "--passphrase-file",
                "--root-certificate", "--root-key", "--certificate-lifetime", "--root-propagation", "--server-names",
                "--sign-rate", "--max-connections", "WEFT_DATA_DIR", "WEFT_TRUST_DOMAIN", "SIGTERM", "trust-bundle.pem",
            ] {
                #expect(help.output.contains(text), "--help lacks \(text)")
            }
            let cases: [([String], String)] = [
                (["--listen", "nope"], "--listen: expected host:port"),
                (["--trust-domain", "Not A Domain"], "--trust-domain:"),
                (["--certificate-lifetime", "1m"], "--certificate-lifetime must be from"),
                (["--certificate-lifetime", "soon"], "--certificate-lifetime:"),
                (["--sign-rate", "0"], "--sign-rate must be a whole number"),
                (["--max-connections", "3"], "--max-connections must be a whole number from 16"),
                (["--root-certificate", "/tmp/x.pem"], "--root-certificate and --root-key go together"),
                (["--server-names", ","], "--server-names"),
                (["--log-level", "loud"], "unknown level loud"),
                (["--admin-token-file", "/nonexistent/token"], "cannot read /nonexistent/token"),
                (["--bogus"], "Unknown option '--bogus'"),
            ]
            for (arguments, message) in cases {
                let result = try ChildProcess.run(
                    Self.binary, ["--data-dir", NSTemporaryDirectory() + "/weft-ca-flags"] + arguments)
                #expect(result.status == 64, "\(arguments) exited with \(result.status): \(result.output)")
                #expect(result.output.contains(message), "\(arguments): \(result.output)")
            }
        }
    }

    @Test func keepsItsKeysPrivateGeneratesATokenOnceAndStopsGracefully() async throws {
        let setup = try await Setup()
        defer { Task { await setup.drop() } }
        var bundles: [String] = []
        var tokens: [String] = []
        for _ in 0..<2 {
            let (process, port) = try await setup.start()
            let started = try #require(port, "\(process.output)")
            let token = try String(contentsOfFile: setup.dataDirectory + "/admin-token", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            tokens.append(token)
            #expect(!process.output.contains(token), "the admin token was logged")
            #expect(Self.mode(setup.dataDirectory) == 0o700)
            #expect(Self.mode(setup.dataDirectory + "/admin-token") == 0o600)
            #expect(Self.mode(setup.dataDirectory + "/authorities/0001/key.pem") == 0o600)
            let key = try String(contentsOfFile: setup.dataDirectory + "/authorities/0001/key.pem", encoding: .utf8)
            #expect(!process.output.contains(key.split(separator: "\n")[1]), "the key was logged")
            bundles.append(try await setup.curl(started, "/v1/bundle"))
            let roots = try await setup.curl(started, "/v1/roots", token: token)
            #expect(roots.contains(#""state":"active""#), "\(roots)")
            #expect(!roots.contains("PRIVATE KEY"))
            let status = await process.stopped()
            #expect(ChildProcess.succeeded(status), "exit status \(status): \(process.output)")
            #expect(process.output.contains("stopped"))
        }
        #expect(tokens[0] == tokens[1])
        #expect(bundles[0] == bundles[1] && bundles[0].contains("BEGIN CERTIFICATE"), "a restart changed the root")
    }

    @Test func encryptsKeysWithAPassphraseAndRefusesToStartWithoutIt() async throws {
        let setup = try await Setup()
        defer { Task { await setup.drop() } }
        let passphrase = try setup.scratch.write("passphrase", "correct horse battery staple\n")
        let token = ["WEFT_ADMIN_TOKEN": "process-test-admin-token-0123"]
        let (process, port) = try await setup.start(["--passphrase-file", passphrase], environment: token)
        #expect(port != nil, "\(process.output)")
        _ = await process.stopped()
        let key = try String(contentsOfFile: setup.dataDirectory + "/authorities/0001/key.pem", encoding: .utf8)
        #expect(key.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))

        let (without, none) = try await setup.start([], environment: token)
        #expect(none == nil)
        let status = await without.exited()
        #expect((status >> 8) & 0xff == 78, "\(without.output)")
        #expect(without.output.contains("encrypted and no passphrase was given"), "\(without.output)")

        let wrong = try setup.scratch.write("wrong", "not the passphrase\n")
        let (mistaken, _) = try await setup.start(["--passphrase-file", wrong], environment: token)
        #expect((await mistaken.exited() >> 8) & 0xff == 78)
        #expect(mistaken.output.contains("does not decrypt"), "\(mistaken.output)")

        // A key file others can read is refused, with the fix.
        chmod(setup.dataDirectory + "/authorities/0001/key.pem", 0o644)
        let (exposed, _) = try await setup.start(["--passphrase-file", passphrase], environment: token)
        #expect((await exposed.exited() >> 8) & 0xff == 78)
        #expect(exposed.output.contains("chmod 600"), "\(exposed.output)")
    }

    @Test func signsUnderAnOperatorsRootAndRefusesADataDirectoryFromAnotherDatabase() async throws {
        let setup = try await Setup()
        defer { Task { await setup.drop() } }
        let rootKey = setup.scratch.file("root-key.pem")
        let rootCertificate = setup.scratch.file("root.pem")
        let made = try setup.scratch.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", rootKey,
            "-out", rootCertificate, "-subj", "/CN=Operator Root", "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        #expect(made.status == 0, "\(made.output)")
        let token = ["WEFT_ADMIN_TOKEN": "process-test-admin-token-0123"]
        let (process, port) = try await setup.start(
            ["--root-certificate", rootCertificate, "--root-key", rootKey], environment: token)
        let started = try #require(port, "\(process.output)")
        // Proxies trust the operator's root; the CA signs with an intermediate under it.
        let anchors = try String(contentsOfFile: setup.dataDirectory + "/trust-bundle.pem", encoding: .utf8)
        #expect(anchors == (try String(contentsOfFile: rootCertificate, encoding: .utf8)))
        let bundle = try await setup.curl(started, "/v1/bundle")
        #expect(bundle.contains(#""version":"#), "\(bundle)")

        // A workload's certificate comes from the CA's intermediate, chains to the
        // operator's root, and renews over mutual TLS.
        let identity = "spiffe://weft.local/ns/shop/sa/web"
        let created = try await setup.curlWithStatus(
            started, "/v1/join-tokens", token: "process-test-admin-token-0123",
            body: #"{"identity":"\#(identity)"}"#)
        let secret = try #require(
            created.output.firstMatch(of: /"secret":"(wjt_[A-Za-z0-9_-]+)"/)?.1, "\(created.output)")
        let csr = try setup.scratch.csr("web", uris: [identity])
        let signed = try await setup.curlWithStatus(
            started, "/v1/certificates/sign", body: try CAHarness.signingBody(csr: csr, token: String(secret)))
        let chain = try #require(
            (try JSONSerialization.jsonObject(with: Data(signed.output.utf8)) as? [String: Any])?["chain"] as? String,
            "\(signed.output)")
        let chainFile = try setup.scratch.write("web-chain.pem", chain)
        let verified = try setup.scratch.openssl([
            "verify", "-CAfile", rootCertificate, "-untrusted", chainFile, chainFile,
        ])
        #expect(verified.status == 0, "\(verified.output)")
        let renewal = try await setup.curlWithStatus(
            started, "/v1/certificates/sign", body: try CAHarness.signingBody(csr: csr),
            client: (chainFile, setup.scratch.file("web-key.pem")))
        #expect(renewal.status == 0 && renewal.output.contains(#""chain":"#), "\(renewal.output)")

        // Something else the operator's root signed, naming the same identity, is
        // not the CA's to renew: the handshake refuses it (the CA trusts its own
        // intermediates for client certificates, not the whole root).
        let otherKey = setup.scratch.file("other-key.pem")
        let otherRequest = setup.scratch.file("other.csr")
        let otherCertificate = setup.scratch.file("other.pem")
        _ = try setup.scratch.openssl([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", otherKey,
            "-out", otherRequest, "-subj", "/CN=elsewhere",
        ])
        let extensions = try setup.scratch.write(
            "other.ext", "subjectAltName=URI:\(identity)\nextendedKeyUsage=clientAuth,serverAuth\n")
        let issued = try setup.scratch.openssl([
            "x509", "-req", "-in", otherRequest, "-CA", rootCertificate, "-CAkey", rootKey, "-CAcreateserial",
            "-days", "1", "-extfile", extensions, "-out", otherCertificate,
        ])
        #expect(issued.status == 0, "\(issued.output)")
        let outsider = try await setup.curlWithStatus(
            started, "/v1/certificates/sign", body: try CAHarness.signingBody(csr: csr),
            client: (otherCertificate, otherKey))
        #expect(outsider.status != 0 && !outsider.output.contains(#""chain":"#), "\(outsider.output)")
        #expect(
            try await blocking {
                try Command.tlsAlert(port: started, certificate: otherCertificate, key: otherKey, alpn: "http/1.1")
            } == "unknown ca")
        _ = await process.stopped()

        // The same database with a different data directory: refused, nothing changed.
        try FileManager.default.moveItem(atPath: setup.dataDirectory, toPath: setup.scratch.file("old-data"))
        let (other, none) = try await setup.start([], environment: token)
        #expect(none == nil)
        #expect((await other.exited() >> 8) & 0xff == 78)
        #expect(other.output.contains("is not the one the database recorded"), "\(other.output)")
    }

    /// PostgreSQL away: the bundle is still served, a signing answers 503 with a
    /// generic reason (the database's address goes to the log, not to an
    /// unauthenticated caller), and no certificate exists without its ledger row.
    @Test func servesTheBundleAndRefusesSigningWithoutItsDatabase() async throws {
        try await TemporaryPostgres.with { postgres in
            let setup = try await Setup(on: postgres)
            let admin = "outage-test-admin-token-0123"
            let (process, port) = try await setup.start([], environment: ["WEFT_ADMIN_TOKEN": admin])
            let started = try #require(port, "\(process.output)")
            let identity = "spiffe://weft.local/ns/shop/sa/web"
            let created = try await setup.curlWithStatus(
                started, "/v1/join-tokens", token: admin, body: #"{"identity":"\#(identity)","max_uses":2}"#)
            let secret = String(
                try #require(created.output.firstMatch(of: /"secret":"(wjt_[A-Za-z0-9_-]+)"/)?.1, "\(created.output)"))
            let csr = try setup.scratch.csr("web", uris: [identity])
            let body = try CAHarness.signingBody(csr: csr, token: secret)

            try await postgres.paused()
            let bundle = try await setup.curl(started, "/v1/bundle")
            #expect(bundle.contains("BEGIN CERTIFICATE"), "\(bundle)")
            let refused = try await setup.curlWithStatus(started, "/v1/certificates/sign", body: body)
            #expect(refused.output.contains(#""status":503"#), "\(refused.output)")
            #expect(refused.output.contains("cannot reach its database"), "\(refused.output)")
            #expect(!refused.output.contains(String(postgres.port)), "the answer names the database: \(refused.output)")
            #expect(!refused.output.contains(#""chain""#))

            try await postgres.resumed()
            var signed = ""
            #expect(
                try await eventually(seconds: 30) {
                    signed = try await setup.curlWithStatus(started, "/v1/certificates/sign", body: body).output
                    return signed.contains(#""chain":"#)
                }, "\(signed)")
            let serial = try #require(signed.firstMatch(of: /"serial":"([0-9a-f]+)"/)?.1, "\(signed)")
            // The ledger holds exactly the one certificate issued, and the token
            // was spent once: the refused signing burnt nothing.
            let ledger = try await setup.curl(started, "/v1/certificates", token: admin)
            #expect(ledger.components(separatedBy: #""serial":"#).count - 1 == 1, "\(ledger)")
            #expect(ledger.contains(String(serial)))
            let tokens = try await setup.curl(started, "/v1/join-tokens", token: admin)
            #expect(tokens.contains(#""uses":1"#), "\(tokens)")
            #expect(ChildProcess.succeeded(await process.stopped()), "\(process.output)")
        }
    }
}
