import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import WeftTLS
import WeftTestSupport

/// Certificates the CA issued, used for real: two WeftTLS endpoints over
/// loopback sockets handshake with mutual TLS (mesh profile: TLS 1.3, ALPN h2,
/// SPIFFE identities checked), and keep doing so without one failure through a
/// whole root rotation.
@Suite struct CARotationTests {
    /// A workload as a proxy holds it: its certificate and key, and the trust
    /// bundle it last polled, as the TLS context for new connections.
    final class MeshEndpoint: Sendable {
        let identity: String
        let role: TLSConfiguration.Role
        let contexts: TLSContextProvider
        let state: Mutex<(workload: CAHarness.Workload, roots: [Certificate])>

        init(_ workload: CAHarness.Workload, role: TLSConfiguration.Role, roots: [Certificate]) throws {
            identity = workload.identity
            self.role = role
            state = Mutex((workload, roots))
            contexts = TLSContextProvider(try Self.context(workload, role: role, roots: roots))
        }

        var workload: CAHarness.Workload { state.withLock { $0.workload } }

        func update(workload: CAHarness.Workload? = nil, roots: [Certificate]? = nil) throws {
            let (current, trusted) = state.withLock { state in
                if let workload { state.workload = workload }
                if let roots { state.roots = roots }
                return (state.workload, state.roots)
            }
            contexts.update(try Self.context(current, role: role, roots: trusted))
        }

        static func context(_ workload: CAHarness.Workload, role: TLSConfiguration.Role, roots: [Certificate]) throws
            -> TLSContext
        {
            let chain = try Certificate.chain(
                pem: try String(contentsOfFile: workload.client.certificateFile, encoding: .utf8))
            let key = try PrivateKey(pem: try String(contentsOfFile: workload.client.keyFile, encoding: .utf8))
            return try TLSContext(
                TLSConfiguration.mesh(role: role, certificateChain: chain, privateKey: key, trustRoots: roots))
        }
    }

    /// Answers one line with the identity it saw.
    final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        var peer = "?"

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .handshakeCompleted(let info)? = event as? TLSEvent { peer = info.peerIdentity ?? "anonymous" }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "hello \(peer)\n")), promise: nil)
        }
    }

    /// Sends a line after the handshake; completes with the answer.
    final class Caller: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let result: EventLoopPromise<String>
        var received = ""

        init(result: EventLoopPromise<String>) { self.result = result }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            guard case .handshakeCompleted? = event as? TLSEvent else { return }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "ping\n")), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
            if let newline = received.firstIndex(of: "\n") {
                result.succeed(String(received[..<newline]))
                context.close(promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            result.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            result.fail(TLSError(.closed, "closed before an answer"))
        }
    }

    /// A listening server endpoint.
    static func listen(_ endpoint: MeshEndpoint) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try endpoint.contexts.makeHandler())
                    try channel.pipeline.syncOperations.addHandler(Responder())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// One new connection from `client` to `server`; returns the server's answer.
    static func handshake(_ client: MeshEndpoint, to server: MeshEndpoint, port: Int) async throws -> String {
        let group = MultiThreadedEventLoopGroup.singleton
        let result = group.next().makePromise(of: String.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            try client.contexts.makeHandler(expectedPeerIdentity: server.identity))
                        try channel.pipeline.syncOperations.addHandler(Caller(result: result))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
        } catch {
            result.fail(error)
            throw error
        }
        defer { channel.close(promise: nil) }
        return try await result.futureResult.get()
    }

    static func bundleRoots(_ ca: CAHarness) async throws -> [Certificate] {
        let reply = try await ca.call("GET", "/v1/bundle", token: nil)
        let roots = try #require(reply.json["roots"] as? [String])
        return try roots.map { try Certificate(pem: $0) }
    }

    @Test func issuedCertificatesCarryAMutualTLSHandshakeBetweenWeftEndpoints() async throws {
        try await CAHarness.with { ca in
            let roots = try await Self.bundleRoots(ca)
            let api = try MeshEndpoint(try await ca.enroll("api"), role: .server, roots: roots)
            let web = try MeshEndpoint(try await ca.enroll("web"), role: .client, roots: roots)
            let server = try await Self.listen(api)
            defer { server.close(promise: nil) }
            let answer = try await Self.handshake(web, to: api, port: server.localAddress!.port!)
            #expect(answer == "hello \(web.identity)")

            // The server refuses a revoked client once its bundle lists the serial.
            let revocation = try await ca.call("POST", "/v1/certificates/\(web.workload.serial)/revoke")
            #expect(revocation.status == 200, "\(revocation.text)")
            #expect(revocation.json["serial"] as? String == web.workload.serial)
            #expect(revocation.json["revoked_at"] is String, "\(revocation.text)")
            let bundle = try await ca.call("GET", "/v1/bundle", token: nil)
            let revoked = Set(bundle.json["revoked_serials"] as? [String] ?? [])
            #expect(revoked == [web.workload.serial])
            var configuration = TLSConfiguration.mesh(
                role: .server,
                certificateChain: try Certificate.chain(
                    pem: try String(contentsOfFile: api.workload.client.certificateFile, encoding: .utf8)),
                privateKey: try PrivateKey(
                    pem: try String(contentsOfFile: api.workload.client.keyFile, encoding: .utf8)),
                trustRoots: roots)
            configuration.revokedSerials = revoked
            api.contexts.update(try TLSContext(configuration))
            // The client hears why: the server's certificate_revoked alert.
            let refusal = await #expect(throws: TLSError.self) {
                try await Self.handshake(web, to: api, port: server.localAddress!.port!)
            }
            #expect(refusal?.description.contains("certificate revoked") == true, "\(String(describing: refusal))")
        }
    }

    @Test(.timeLimit(.minutes(6))) func aRootRotatesWithoutAFailedHandshake() async throws {
        try await CAHarness.with(
            configuration: .init {
                // Long enough for the steps before activation on a loaded CI
                // machine; the test then waits these leaves out.
                $0.certificateLifetime = .seconds(60)
                $0.rootPropagation = .seconds(10)
            }
        ) { ca in
            let api = try MeshEndpoint(try await ca.enroll("api"), role: .server, roots: try await Self.bundleRoots(ca))
            let web = try MeshEndpoint(try await ca.enroll("web"), role: .client, roots: try await Self.bundleRoots(ca))
            let firstLeavesExpire = Date().addingTimeInterval(60)
            let server = try await Self.listen(api)
            defer { server.close(promise: nil) }
            let port = server.localAddress!.port!

            // Handshakes run all along, each on a new connection with the
            // endpoints' current certificates and bundles.
            let tally = Mutex((succeeded: 0, failures: [String]()))
            let traffic = Task {
                while !Task.isCancelled {
                    do {
                        let answer = try await Self.handshake(web, to: api, port: port)
                        tally.withLock { $0.succeeded += answer == "hello \(web.identity)" ? 1 : 0 }
                    } catch {
                        tally.withLock { $0.failures.append("\(error)") }
                    }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            func step(_ name: String) async throws {
                // Every step is followed by handshakes in both directions of trust.
                let answer = try await Self.handshake(web, to: api, port: port)
                #expect(answer == "hello \(web.identity)", "after \(name)")
            }
            try await step("start")

            // 1. Introduce generation 2: published, trusted, not signing.
            let introduced = try await ca.call("POST", "/v1/roots")
            #expect(introduced.status == 201 && introduced.json["state"] as? String == "published")
            let early = try await ca.call("POST", "/v1/roots/2/activate")
            #expect(early.status == 409 && early.detail.contains("proxies may not trust it yet"), "\(early.text)")
            try await step("introduce")

            // 2. Proxies poll the bundle: both roots.
            let both = try await Self.bundleRoots(ca)
            #expect(both.count == 2)
            try api.update(roots: both)
            try web.update(roots: both)
            try await step("publish")

            // 3. Switch issuance; renewals now come from generation 2, one side first.
            try await Task.sleep(for: .seconds(10.2))
            let activated = try await ca.call("POST", "/v1/roots/2/activate")
            #expect(activated.status == 200 && activated.json["state"] as? String == "active", "\(activated.text)")
            let (apiRenewal, apiRenewed) = try await ca.renew(api.workload)
            #expect(apiRenewal.status == 200, "\(apiRenewal.text)")
            try api.update(workload: apiRenewed)
            try await step("server renewed under generation 2")
            let (webRenewal, webRenewed) = try await ca.renew(web.workload)
            #expect(webRenewal.status == 200)
            try web.update(workload: webRenewed)
            try await step("client renewed under generation 2")
            let entry = try await ca.call("GET", "/v1/certificates/\(webRenewed.serial)")
            #expect(entry.json["issuer_generation"] as? Int == 2)

            // 4. Retiring generation 1 waits for its last leaf to expire.
            let tooSoon = try await ca.call("POST", "/v1/roots/1/retire")
            #expect(tooSoon.status == 409 && tooSoon.detail.contains("still valid"), "\(tooSoon.text)")
            // Meanwhile proxies renew at about half-life, as they do, so generation
            // 2 leaves stay fresh while generation 1 leaves run out.
            repeat {
                try await Task.sleep(for: .seconds(min(15, max(0.1, firstLeavesExpire.timeIntervalSinceNow + 1))))
                for endpoint in [api, web] {
                    let (renewal, renewed) = try await ca.renew(endpoint.workload)
                    #expect(renewal.status == 200, "\(renewal.text)")
                    try endpoint.update(workload: renewed)
                }
            } while Date() < firstLeavesExpire.addingTimeInterval(1)
            let retired = try await ca.call("POST", "/v1/roots/1/retire")
            #expect(retired.status == 200 && retired.json["state"] as? String == "retired", "\(retired.text)")

            // 5. Proxies poll again: generation 2 alone.
            let last = try await Self.bundleRoots(ca)
            #expect(last.count == 1)
            let second = try await ca.call("GET", "/v1/roots/2")
            #expect(try last[0].pemString() == second.json["certificate"] as? String)
            try api.update(roots: last)
            try web.update(roots: last)
            try await step("retire")

            traffic.cancel()
            _ = await traffic.result
            let (succeeded, failures) = tally.withLock { ($0.succeeded, $0.failures) }
            #expect(failures.isEmpty, "failed handshakes: \(failures.prefix(5))")
            #expect(succeeded > 20, "only \(succeeded) handshakes ran")
        }
    }
}
