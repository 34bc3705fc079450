import Foundation
import WeftService

/// The point-of-sale demo's configuration, applied through the admin APIs by
/// `weftctl dev up` and, for docker compose, by `weftctl dev bootstrap`: one
/// definition of the demo for both.
struct Demo {
    static let trustDomain = "weft.local"
    /// The proxies of the demo: each joins with a token of its own.
    static let proxies: [(name: String, service: String)] = [
        ("catalog", "catalog"), ("payments-v1", "payments"), ("payments-v2", "payments"),
        ("payments-v3", "payments"), ("edge", "edge"),
    ]

    let registry: AdminClient
    let authority: AdminClient

    static func identity(_ service: String) -> String { "spiffe://\(trustDomain)/ns/default/sa/\(service)" }
    static let registryIdentity = "spiffe://\(trustDomain)/ns/weft-system/sa/weft-registry"

    /// Services, intentions (the mesh denies by default; these allow), and the
    /// edge gateway's routes. Safe to apply again.
    func applyConfiguration() throws {
        for service in ["payments", "catalog"] {
            try registry.expect([200, 201], .PUT, "/v1/services/default/\(service)", #"{"name": "\#(service)"}"#)
        }
        for (source, destination) in [("edge", "payments"), ("payments", "catalog")] {
            try registry.expect(
                [201, 409], .POST, "/v1/intentions",
                #"{"source": "\#(Self.identity(source))", "destination": "\#(destination)", "action": "allow"}"#)
        }
        try registry.expect([200, 201], .PUT, "/v1/routes/gateways/default/edge", Self.routeTable)
    }

    /// A new registry credential for `service`, written to `file` (0600).
    func writeCredential(for service: String, to file: String) throws {
        let reply = try registry.expect([201], .POST, "/v1/services/default/\(service)/credentials")
        guard let secret = AdminClient.member("secret", in: reply.body) else {
            throw DevMeshError("the registry's credential answer has no secret: \(reply.body.prefix(200))")
        }
        try Self.writeSecret(secret, to: file)
    }

    /// A new single-use join token for `identity`, valid an hour, written to `file` (0600).
    func writeJoinToken(for identity: String, to file: String) throws {
        let reply = try authority.expect(
            [201], .POST, "/v1/join-tokens", #"{"identity": "\#(identity)", "ttl": "1h", "max_uses": 1}"#)
        guard let secret = AdminClient.member("secret", in: reply.body) else {
            throw DevMeshError("the CA's join-token answer has no secret")
        }
        try Self.writeSecret(secret, to: file)
    }

    static func writeSecret(_ secret: String, to file: String) throws {
        try? FileManager.default.removeItem(atPath: file)
        do {
            try DurableFile.create(file, secret + "\n", mode: 0o600)
        } catch {
            throw DevMeshError("\(error)")
        }
    }

    /// The point-of-sale routes: kiosks to v3 with /v1 rewritten to /api,
    /// firmware 1.x to v1, firmware 2.x to v2 with a sticky tenth of the
    /// terminals (by x-terminal-id) on v3.
    static let routeTable = """
        {"routes": [
          {"name": "kiosk",
           "match": {"path": {"prefix": "/v1"}, "headers": [{"name": "x-terminal-type", "exact": "kiosk"}]},
           "destinations": [{"service": "payments", "subset": {"version": "v3"}}],
           "rewrite": {"prefix": "/api"}},
          {"name": "firmware-1",
           "match": {"headers": [{"name": "x-firmware-version", "version": ">=1.0.0 <2.0.0"}]},
           "destinations": [{"service": "payments", "subset": {"version": "v1"}}]},
          {"name": "firmware-2",
           "match": {"headers": [{"name": "x-firmware-version", "version": ">=2.0.0 <3.0.0"}]},
           "destinations": [{"service": "payments", "subset": {"version": "v2"}, "weight": 90},
                            {"service": "payments", "subset": {"version": "v3"}, "weight": 10}],
           "sticky": {"header": "x-terminal-id"}}
        ]}
        """

    /// `weftctl dev bootstrap`: the configuration applied, and into `directory`
    /// every secret the demo's containers need: the CA's bundle, a join token per
    /// proxy (`<proxy>.join`), a registry credential per service
    /// (`<service>.registry`; the gateway's is the admin token, `edge.registry`).
    static func bootstrap(
        registryURL: String, authorityURL: String, bundleFile: String, adminToken: String, directory: String
    ) throws -> [String] {
        let registry = try AdminClient.registry(url: registryURL, token: adminToken)
        let authority = try AdminClient.authority(
            url: authorityURL, bundleFile: bundleFile, trustDomain: trustDomain, token: adminToken)
        let demo = Demo(registry: registry, authority: authority)
        try demo.applyConfiguration()
        var written: [String] = []
        let bundleCopy = directory + "/trust-bundle.pem"
        try? FileManager.default.removeItem(atPath: bundleCopy)
        try FileManager.default.copyItem(atPath: bundleFile, toPath: bundleCopy)
        written.append(bundleCopy)
        for (name, service) in proxies {
            try demo.writeJoinToken(for: identity(service), to: directory + "/\(name).join")
            written.append(directory + "/\(name).join")
        }
        for service in ["payments", "catalog"] {
            try demo.writeCredential(for: service, to: directory + "/\(service).registry")
            written.append(directory + "/\(service).registry")
        }
        try writeSecret(adminToken, to: directory + "/edge.registry")
        written.append(directory + "/edge.registry")
        return written
    }
}
