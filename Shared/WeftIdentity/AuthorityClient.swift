public import NIOCore
public import WeftProtocol
public import WeftService
public import WeftTLS

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A proxy's calls to weft-ca, over TLS. The CA is checked twice: its chain must
/// lead to the proxy's anchors, and it must present the CA's own SPIFFE identity
/// (`spiffe://<trust domain>/ns/weft-system/sa/weft-ca`), so that a workload
/// certificate from the same root cannot pose as the CA.
public struct AuthorityClient: Sendable {
    public let endpoint: ControlPlaneClient.Endpoint
    public let group: any EventLoopGroup
    public let trustDomain: String

    public init(endpoint: ControlPlaneClient.Endpoint, group: any EventLoopGroup, trustDomain: String) {
        self.endpoint = endpoint
        self.group = group
        self.trustDomain = trustDomain
    }

    /// The identity the CA's serving certificate carries.
    public var authorityIdentity: String { "spiffe://\(trustDomain)/ns/weft-system/sa/weft-ca" }

    /// Why a call did not give what was asked.
    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// The CA answered and refused (a 4xx other than 429): asking again the
        /// same way will not help. `detail` is the CA's own reason.
        case refused(status: Int, detail: String)
        /// The CA could not be reached, did not answer in time, was busy (429,
        /// 5xx) or answered something unreadable: worth retrying.
        case unavailable(String)

        public var description: String {
            switch self {
            case .refused(let status, let detail): "the CA refused (\(status)): \(detail)"
            case .unavailable(let reason): reason
            }
        }
    }

    /// A certificate for the key behind `csr`: with a join token the first
    /// time, or over mutual TLS with the current certificate (`presenting`).
    public func sign(
        csr: String, joinToken: JoinTokenSecret?, anchors: [Certificate], revoked: Set<String>,
        presenting: (chain: [Certificate], key: PrivateKey)?
    ) -> EventLoopFuture<CertificateSigningResponse> {
        let eventLoop = group.next()
        let body: [UInt8]
        let client: ControlPlaneClient
        do {
            body = Array(
                try WeftJSON.encode(
                    try CertificateSigningRequest(
                        csr: PEMDocument(csr, label: "CERTIFICATE REQUEST"), joinToken: joinToken)))
            client = try self.client(anchors: anchors, revoked: revoked, presenting: presenting)
        } catch {
            return eventLoop.makeFailedFuture(Failure.unavailable("cannot prepare the signing request: \(error)"))
        }
        return client.send(
            .POST, APIPaths.sign, headers: [("content-type", "application/json")], body: body, deadline: .seconds(15)
        ).flatMapErrorThrowing { error in
            throw Failure.unavailable("\(error)")
        }.flatMapThrowing { response in
            try Self.check(response)
            do {
                return try WeftJSON.decode(
                    CertificateSigningResponse.self, from: Data(response.body), unknownFields: .ignore)
            } catch {
                throw Failure.unavailable("the CA's answer is not a signing response: \(error)")
            }
        }
    }

    /// The trust bundle, or nil when it has not changed since `etag`.
    public func bundle(
        etag: String?, anchors: [Certificate], revoked: Set<String>,
        presenting: (chain: [Certificate], key: PrivateKey)?
    ) -> EventLoopFuture<(bundle: TrustBundle, etag: String?)?> {
        let client: ControlPlaneClient
        do {
            client = try self.client(anchors: anchors, revoked: revoked, presenting: presenting)
        } catch {
            return group.next().makeFailedFuture(Failure.unavailable("cannot prepare the bundle request: \(error)"))
        }
        let trustDomain = self.trustDomain
        return client.send(
            .GET, APIPaths.bundle, headers: etag.map { [("if-none-match", $0)] } ?? [], deadline: .seconds(15)
        )
        .flatMapErrorThrowing { error in throw Failure.unavailable("\(error)") }
        .flatMapThrowing { response in
            if response.status == 304 { return nil }
            try Self.check(response)
            let bundle: TrustBundle
            do {
                bundle = try WeftJSON.decode(TrustBundle.self, from: Data(response.body), unknownFields: .ignore)
            } catch {
                throw Failure.unavailable("the CA's bundle is invalid, refused: \(error)")
            }
            guard bundle.trustDomain == trustDomain else {
                throw Failure.refused(
                    status: 200,
                    detail: "the CA's bundle is for trust domain \(bundle.trustDomain), but this mesh is \(trustDomain)"
                )
            }
            return (bundle, response.headers.first(name: "etag"))
        }
    }

    /// The bundle fetched **without verifying the CA**: only for bootstrapping
    /// from a pinned fingerprint, where the caller keeps nothing but the root
    /// whose hash it was given.
    public func unverifiedBundle() -> EventLoopFuture<TrustBundle> {
        var configuration = TLSConfiguration(role: .client, applicationProtocols: ["http/1.1"])
        configuration.verifyPeer = false
        let client: ControlPlaneClient
        do {
            let context = try TLSContext(configuration)
            client = ControlPlaneClient(endpoint: endpoint, group: group) { try TLSHandler(context: context) }
        } catch {
            return group.next().makeFailedFuture(Failure.unavailable("cannot prepare the bundle request: \(error)"))
        }
        return client.send(.GET, APIPaths.bundle, deadline: .seconds(15))
            .flatMapErrorThrowing { error in throw Failure.unavailable("\(error)") }
            .flatMapThrowing { response in
                try Self.check(response)
                do {
                    return try WeftJSON.decode(TrustBundle.self, from: Data(response.body), unknownFields: .ignore)
                } catch {
                    throw Failure.unavailable("the CA's bundle is invalid, refused: \(error)")
                }
            }
    }

    private static func check(_ response: ControlPlaneClient.Response) throws {
        guard !(200..<300).contains(response.status) else { return }
        let problem = try? WeftJSON.decode(Problem.self, from: Data(response.body), unknownFields: .ignore)
        let detail = problem?.detail ?? problem?.title ?? "no reason given"
        if (400..<500).contains(response.status) && response.status != 429 && response.status != 408 {
            throw Failure.refused(status: response.status, detail: detail)
        }
        throw Failure.unavailable("the CA answered \(response.status): \(detail)")
    }

    /// A client for any call to the CA (weftctl's admin calls too), verifying it
    /// as above and presenting `presenting` when given.
    public func client(
        anchors: [Certificate], revoked: Set<String> = [], presenting: (chain: [Certificate], key: PrivateKey)? = nil
    ) throws -> ControlPlaneClient {
        var configuration = TLSConfiguration(
            role: .client, certificateChain: presenting?.chain ?? [], privateKey: presenting?.key,
            trustRoots: anchors, applicationProtocols: ["http/1.1"], revokedSerials: revoked,
            requireSPIFFEIdentity: true)
        configuration.trustDomain = trustDomain
        let context = try TLSContext(configuration)
        let (identity, host) = (authorityIdentity, endpoint.host)
        // SNI carries names, never address literals (RFC 6066).
        let serverName: String? = host.contains(":") || !host.contains(where: \.isLetter) ? nil : host
        return ControlPlaneClient(endpoint: endpoint, group: group) {
            try TLSHandler(context: context, expectedPeerIdentity: identity, serverName: serverName)
        }
    }
}
