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
        try registry.expect([200, 201], .PUT, "/v1/policies/default/payments", Self.paymentsPolicy)
        try registry.expect([200, 201], .PUT, "/v1/routes/gateways/default/edge", Self.routeTable)
    }

    /// Calls to payments: a 5 s deadline, and an instance that fails three
    /// times in a row sits out 10 s (docs/traffic-policy.md).
    static let paymentsPolicy = """
        {"service": "payments", "timeouts": {"request": "5s"},
         "outlier_detection": {"consecutive_errors": 3, "base_ejection_time": "10s"}}
        """

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
    /// terminals (by x-terminal-id) on v3, each terminal held to 20 requests a
    /// second (bursts of 40).
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
           "sticky": {"header": "x-terminal-id"},
           "rate_limit": {"requests_per_second": 20, "burst": 40, "key_header": "x-terminal-id"}}
        ]}
        """

    /// What `weftctl dev bootstrap` does, in the order a mesh starts: the
    /// authority stage needs only the CA (the registry's mesh listener needs its
    /// token before the registry starts); the registry stage needs only the
    /// registry.
    public enum Stage: String, CaseIterable, Sendable {
        /// The CA's bundle and a single-use join token per proxy and for the
        /// registry (`<name>.join`), into the directory.
        case authority
        /// Services, intentions and the gateway's routes, applied.
        case registry
        case all
    }

    static func bootstrap(
        stage: Stage, registryURL: String?, authorityURL: String?, bundleFile: String?, adminToken: String,
        directory: String
    ) throws -> [String] {
        var written: [String] = []
        if stage != .registry {
            guard let authorityURL, let bundleFile else {
                throw DevMeshError("the authority stage needs --ca and --ca-bundle")
            }
            let authority = try AdminClient.authority(
                url: authorityURL, bundleFile: bundleFile, trustDomain: trustDomain, token: adminToken)
            let demo = Demo(registry: authority, authority: authority)
            let bundleCopy = directory + "/trust-bundle.pem"
            try? FileManager.default.removeItem(atPath: bundleCopy)
            try FileManager.default.copyItem(atPath: bundleFile, toPath: bundleCopy)
            written.append(bundleCopy)
            for (name, service) in proxies {
                try demo.writeJoinToken(for: identity(service), to: directory + "/\(name).join")
                written.append(directory + "/\(name).join")
            }
            try demo.writeJoinToken(for: registryIdentity, to: directory + "/registry.join")
            written.append(directory + "/registry.join")
        }
        if stage != .authority {
            guard let registryURL else { throw DevMeshError("the registry stage needs --registry") }
            let registry = try AdminClient.registry(url: registryURL, token: adminToken)
            try Demo(registry: registry, authority: registry).applyConfiguration()
        }
        return written
    }
}
