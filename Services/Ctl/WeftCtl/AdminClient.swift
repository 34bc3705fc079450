import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import WeftIdentity
import WeftService
import WeftTLS

/// weftctl's calls to the registry's and the CA's admin APIs, with the admin
/// token. The CA is reached over TLS, verified against its trust bundle and its
/// own SPIFFE identity, as proxies do.
struct AdminClient: Sendable {
    struct Reply: Sendable {
        var status: Int
        var body: String
    }

    let client: ControlPlaneClient
    let token: String
    let name: String

    static func registry(port: Int, token: String) throws -> AdminClient {
        try registry(url: "http://127.0.0.1:\(port)", token: token)
    }

    static func registry(url: String, token: String) throws -> AdminClient {
        AdminClient(
            client: ControlPlaneClient(
                endpoint: try ControlPlaneClient.Endpoint(url: url), group: MultiThreadedEventLoopGroup.singleton),
            token: token, name: "the registry")
    }

    static func authority(port: Int, bundleFile: String, trustDomain: String, token: String) throws -> AdminClient {
        try authority(url: "https://127.0.0.1:\(port)", bundleFile: bundleFile, trustDomain: trustDomain, token: token)
    }

    static func authority(url: String, bundleFile: String, trustDomain: String, token: String) throws -> AdminClient {
        let anchors = try Certificate.chain(pem: try String(contentsOfFile: bundleFile, encoding: .utf8))
        let authority = AuthorityClient(
            endpoint: try ControlPlaneClient.Endpoint(url: url),
            group: MultiThreadedEventLoopGroup.singleton, trustDomain: trustDomain)
        return AdminClient(client: try authority.client(anchors: anchors), token: token, name: "the CA")
    }

    func call(_ method: HTTPMethod, _ path: String, _ body: String? = nil, headers extra: [(String, String)] = [])
        throws -> Reply
    {
        var headers = token.isEmpty ? [] : [("authorization", "Bearer \(token)")]
        headers += extra
        if body != nil { headers.append(("content-type", "application/json")) }
        let response = try client.send(
            method, path, headers: headers, body: body.map { Array($0.utf8) }, deadline: .seconds(15)
        ).wait()
        return Reply(status: response.status, body: String(decoding: response.body, as: UTF8.self))
    }

    /// A call that must answer one of `expected`, else a DevMeshError naming it.
    @discardableResult
    func expect(_ expected: Set<Int>, _ method: HTTPMethod, _ path: String, _ body: String? = nil) throws -> Reply {
        let reply = try call(method, path, body)
        guard expected.contains(reply.status) else {
            throw DevMeshError("\(name) answered \(reply.status) to \(method) \(path): \(reply.body.prefix(500))")
        }
        return reply
    }

    /// A string member of a JSON answer.
    static func member(_ name: String, in body: String) -> String? {
        let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return object?[name] as? String
    }
}
