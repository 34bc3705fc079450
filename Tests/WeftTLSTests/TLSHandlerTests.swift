import NIOCore
import NIOEmbedded
import Testing
import WeftTestSupport

@testable import WeftTLS

/// Two TLSHandlers on EmbeddedChannels, bytes pumped between them by hand.
@Suite struct TLSHandlerTests {
    /// Records what reaches the end of a pipeline.
    final class Recorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var received = ""
        var handshakes: [TLSHandshakeInfo] = []
        var errors: [TLSError] = []
        var otherErrors: [any Error] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .handshakeCompleted(let info)? = event as? TLSEvent { handshakes.append(info) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if let error = error as? TLSError { errors.append(error) } else { otherErrors.append(error) }
        }
    }

    struct Pair {
        let client: EmbeddedChannel
        let server: EmbeddedChannel
        let clientRecorder = Recorder()
        let serverRecorder = Recorder()

        init(client clientContext: TLSContext, server serverContext: TLSContext, expecting: String? = nil) throws {
            client = EmbeddedChannel()
            server = EmbeddedChannel()
            try client.pipeline.syncOperations.addHandler(
                try TLSHandler(context: clientContext, expectedPeerIdentity: expecting))
            try client.pipeline.syncOperations.addHandler(clientRecorder)
            try server.pipeline.syncOperations.addHandler(try TLSHandler(context: serverContext))
            try server.pipeline.syncOperations.addHandler(serverRecorder)
        }

        func start() throws {
            try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try pump()
        }

        /// Moves bytes both ways until neither side has anything to send.
        func pump() throws {
            var moved = true
            while moved {
                moved = false
                while let bytes = try client.readOutbound(as: ByteBuffer.self) {
                    if server.isActive { try server.writeInbound(bytes) }
                    moved = true
                }
                while let bytes = try server.readOutbound(as: ByteBuffer.self) {
                    if client.isActive { try client.writeInbound(bytes) }
                    moved = true
                }
            }
        }

        func finish(sourceLocation: SourceLocation = #_sourceLocation) {
            finishClean(client, closingWrites: 1, sourceLocation: sourceLocation)
            finishClean(server, closingWrites: 1, sourceLocation: sourceLocation)
        }
    }

    @Test func mutualTLSCompletesWithIdentitiesAndALPN() throws {
        let pki = try MeshPKI()
        let pair = try Pair(
            client: try pki.clientContext(try pki.workload("web")),
            server: try pki.serverContext(try pki.workload("api")),
            expecting: MeshPKI.identity("api"))
        defer { pair.finish() }
        try pair.start()
        let clientSide = try #require(pair.clientRecorder.handshakes.first)
        let serverSide = try #require(pair.serverRecorder.handshakes.first)
        #expect(clientSide.applicationProtocol == "h2" && serverSide.applicationProtocol == "h2")
        #expect(clientSide.peerIdentity == MeshPKI.identity("api"))
        #expect(serverSide.peerIdentity == MeshPKI.identity("web"))
        #expect(clientSide.version == "TLSv1.3")
        #expect(pair.clientRecorder.errors.isEmpty && pair.serverRecorder.errors.isEmpty)
    }

    @Test func dataFlowsBothWaysAndEarlyWritesAreHeld() throws {
        let pki = try MeshPKI()
        let pair = try Pair(
            client: try pki.clientContext(try pki.workload("web")),
            server: try pki.serverContext(try pki.workload("api")))
        defer { pair.finish() }
        // Written before the channel is even active: held until the handshake is done.
        let early = pair.client.writeAndFlush(ByteBuffer(string: "early "))
        try pair.start()
        try early.wait()
        try pair.client.writeAndFlush(ByteBuffer(string: "hello")).wait()
        try pair.server.writeAndFlush(ByteBuffer(string: "world")).wait()
        try pair.pump()
        #expect(pair.serverRecorder.received == "early hello")
        #expect(pair.clientRecorder.received == "world")
        // A large body crosses in many records.
        let big = String(repeating: "x", count: 300_000)
        try pair.client.writeAndFlush(ByteBuffer(string: big)).wait()
        try pair.pump()
        #expect(pair.serverRecorder.received.count == "early hello".count + big.count)
    }

    @Test func closeSendsCloseNotifyAndThePeerCloses() throws {
        let pki = try MeshPKI()
        let pair = try Pair(
            client: try pki.clientContext(try pki.workload("web")),
            server: try pki.serverContext(try pki.workload("api")))
        defer { pair.finish() }
        try pair.start()
        try pair.client.close().wait()
        try pair.pump()
        #expect(!pair.server.isActive)
        #expect(pair.serverRecorder.errors.isEmpty)  // a clean close, not truncation
        #expect(pair.clientRecorder.errors.isEmpty)
    }

    @Test func losingTheTransportWithoutCloseNotifyIsReported() throws {
        let pki = try MeshPKI()
        let pair = try Pair(
            client: try pki.clientContext(try pki.workload("web")),
            server: try pki.serverContext(try pki.workload("api")))
        defer { pair.finish() }
        try pair.start()
        pair.server.pipeline.fireChannelInactive()
        #expect(pair.serverRecorder.errors.map(\.kind) == [.uncleanShutdown])
    }

    /// Runs a handshake expected to fail and returns (client errors, server errors).
    func failingHandshake(client: TLSContext, server: TLSContext, expecting: String? = nil) throws -> (
        [TLSError], [TLSError]
    ) {
        let pair = try Pair(client: client, server: server, expecting: expecting)
        defer { pair.finish() }
        try pair.start()
        #expect(pair.clientRecorder.handshakes.isEmpty || pair.serverRecorder.handshakes.isEmpty)
        #expect(!pair.client.isActive || !pair.server.isActive)
        return (pair.clientRecorder.errors, pair.serverRecorder.errors)
    }

    @Test func aCertificateFromAForeignCAIsRefused() throws {
        let pki = try MeshPKI()
        let foreign = try MeshPKI()
        // The client trusts the mesh's root but presents a certificate from another CA.
        let intruder = try foreign.workload("web")
        let client = try TLSContext(
            TLSConfiguration(
                role: .client, certificateChain: [intruder.certificate], privateKey: intruder.key,
                trustRoots: [pki.root.certificate], applicationProtocols: ["h2"], requireSPIFFEIdentity: true))
        let (clientErrors, serverErrors) = try failingHandshake(
            client: client, server: try pki.serverContext(try pki.workload("api")))
        #expect(serverErrors.first?.kind == .verificationFailed)
        #expect(serverErrors.first?.context == "unable to get local issuer certificate")
        // The client hears why through the alert. In TLS 1.3 the client's side of the
        // handshake is complete once it sends Finished, so the server's alert
        // arrives as a record after it: a protocol failure carrying the alert.
        #expect(clientErrors.first?.kind == .protocolFailure)
        #expect(clientErrors.first?.openSSLReasons.joined().contains("unknown ca") == true)
    }

    @Test func anExpiredCertificateIsRefused() throws {
        let pki = try MeshPKI()
        let expired = try pki.workload("api", notBefore: MeshPKI.now - 7200, notAfter: MeshPKI.now - 3600)
        let (clientErrors, _) = try failingHandshake(
            client: try pki.clientContext(try pki.workload("web")), server: try pki.serverContext(expired))
        #expect(clientErrors.first?.kind == .verificationFailed)
        #expect(clientErrors.first?.context == "certificate has expired")
    }

    @Test func aServerThatChecksValidityItselfAcceptsAnExpiredClientButNotAForeignOne() throws {
        let pki = try MeshPKI()
        let expired = try pki.workload("web", notBefore: MeshPKI.now - 7200, notAfter: MeshPKI.now - 3600)
        let api = try pki.workload("api")
        var configuration = TLSConfiguration(
            role: .server, certificateChain: [api.certificate], privateKey: api.key, trustRoots: [pki.root.certificate])
        configuration.checkPeerValidityPeriod = false
        let lenient = try TLSContext(configuration)
        let pair = try Pair(client: try pki.clientContext(expired), server: lenient)
        defer { pair.finish() }
        try pair.start()
        #expect(pair.serverRecorder.handshakes.first?.peerCertificate?.notAfter == expired.certificate.notAfter)
        #expect(pair.serverRecorder.handshakes.first?.peerIdentity == MeshPKI.identity("web"))

        // The chain is still verified: a certificate from another CA fails.
        let foreign = try MeshPKI().workload("web")
        let (_, serverErrors) = try failingHandshake(client: try pki.clientContext(foreign), server: lenient)
        #expect(serverErrors.first?.kind == .verificationFailed)
    }

    @Test func theWrongSPIFFEIdentityIsRefused() throws {
        let pki = try MeshPKI()
        let (clientErrors, _) = try failingHandshake(
            client: try pki.clientContext(try pki.workload("web")),
            server: try pki.serverContext(try pki.workload("impostor")),
            expecting: MeshPKI.identity("api"))
        #expect(clientErrors.first?.kind == .verificationFailed)
        #expect(
            clientErrors.first?.context
                == "the peer is \(MeshPKI.identity("impostor")), not the expected \(MeshPKI.identity("api"))")
    }

    @Test func aRevokedSerialIsRefused() throws {
        let pki = try MeshPKI()
        let web = try pki.workload("web")
        let (_, serverErrors) = try failingHandshake(
            client: try pki.clientContext(web),
            server: try pki.serverContext(try pki.workload("api"), revoked: [web.certificate.serialHex]))
        #expect(serverErrors.first?.kind == .verificationFailed)
        #expect(serverErrors.first?.context == "certificate serial \(web.certificate.serialHex) is revoked")
    }

    @Test func aClientWithoutACertificateIsRefusedOnMeshPorts() throws {
        let pki = try MeshPKI()
        let anonymous = try TLSContext(
            TLSConfiguration(role: .client, trustRoots: [pki.root.certificate], applicationProtocols: ["h2"]))
        let (_, serverErrors) = try failingHandshake(
            client: anonymous, server: try pki.serverContext(try pki.workload("api")))
        #expect(serverErrors.first?.kind == .handshakeFailed)
        #expect(serverErrors.first?.openSSLReasons.joined().contains("peer did not return a certificate") == true)
    }

    @Test func noCommonApplicationProtocolFailsTheHandshake() throws {
        let pki = try MeshPKI()
        let (_, serverErrors) = try failingHandshake(
            client: try pki.clientContext(try pki.workload("web"), protocols: ["http/1.1"]),
            server: try pki.serverContext(try pki.workload("api"), protocols: ["h2"]))
        #expect(serverErrors.first?.kind == .handshakeFailed)
        #expect(serverErrors.first?.openSSLReasons.joined().contains("no application protocol") == true)
    }

    @Test func aSilentPeerTimesOut() throws {
        let pki = try MeshPKI()
        let server = EmbeddedChannel()
        let recorder = Recorder()
        try server.pipeline.syncOperations.addHandler(
            try TLSHandler(context: try pki.serverContext(try pki.workload("api")), handshakeTimeout: .seconds(5)))
        try server.pipeline.syncOperations.addHandler(recorder)
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        server.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(server.isActive)
        server.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(recorder.errors.map(\.kind) == [.handshakeTimeout])
        #expect(!server.isActive)
        finishClean(server, closingWrites: 1)
    }

    @Test func garbageInsteadOfAHandshakeFailsCleanly() throws {
        let pki = try MeshPKI()
        let server = EmbeddedChannel()
        let recorder = Recorder()
        try server.pipeline.syncOperations.addHandler(
            try TLSHandler(context: try pki.serverContext(try pki.workload("api"))))
        try server.pipeline.syncOperations.addHandler(recorder)
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try server.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(recorder.errors.first?.kind == .handshakeFailed)
        #expect(!server.isActive)
        finishClean(server, closingWrites: 1)
    }
}

extension TLSHandlerTests {
    @Test func swappingTheContextKeepsEstablishedConnectionsAndServesTheNewCertificate() throws {
        let pki = try MeshPKI()
        let oldCertificate = try pki.workload("api")
        let provider = TLSContextProvider(try pki.serverContext(oldCertificate))
        let clientContext = try pki.clientContext(try pki.workload("web"))

        func connect() throws -> Pair {
            let pair = try Pair(client: clientContext, server: provider.current)
            try pair.start()
            return pair
        }
        let established = try connect()
        defer { established.finish() }
        #expect(
            established.clientRecorder.handshakes.first?.peerCertificate?.serialHex
                == oldCertificate.certificate.serialHex)

        // Renewal: a new certificate for the same identity.
        let renewed = try pki.workload("api")
        provider.update(try pki.serverContext(renewed))

        // The established connection still carries data both ways.
        try established.client.writeAndFlush(ByteBuffer(string: "still")).wait()
        try established.server.writeAndFlush(ByteBuffer(string: "here")).wait()
        try established.pump()
        #expect(established.serverRecorder.received == "still")
        #expect(established.clientRecorder.received == "here")

        // A new connection gets the renewed certificate.
        let fresh = try connect()
        defer { fresh.finish() }
        #expect(fresh.clientRecorder.handshakes.first?.peerCertificate?.serialHex == renewed.certificate.serialHex)
    }
}
