import Foundation
import NIOCore
import NIOPosix
import Testing
import WeftHTTP2
import WeftTestSupport

/// The weft-echo executable itself: its flags, and a graceful drain on SIGTERM.
@Suite(.serialized) struct EchoProcessTests {
    static let binary = ChildProcess.builtProduct("weft-echo")
    typealias Recorder = HTTP2TestClient.Recorder

    @Test func documentsEveryFlagAndRefusesBadOnes() async throws {
        try await blocking {
            let help = try ChildProcess.run(Self.binary, ["--help"])
            #expect(help.status == 0)
            for flag in ["--listen", "--tls-cert", "--tls-key", "--client-ca", "--threads", "--drain-timeout"] {
                #expect(help.output.contains(flag), "--help does not mention \(flag)")
            }
            let cases: [([String], String)] = [
                (["--listen", "nope"], "--listen: expected host:port"),
                (["--tls-cert", "/x"], "--tls-cert and --tls-key go together"),
                (["--drain-timeout", "4000"], "--drain-timeout must be between"),
                (["--tls-cert", "/nonexistent", "--tls-key", "/nonexistent"], "cannot load TLS material"),
            ]
            for (arguments, message) in cases {
                let result = try ChildProcess.run(Self.binary, arguments)
                #expect(result.status == 64, "\(arguments): exit \(result.status)")
                #expect(result.output.contains(message), "\(arguments): \(result.output)")
            }
        }
    }

    /// Starts weft-echo on a port the kernel picks (a port picked free beforehand
    /// can be taken by a parallel test first) and returns the port it reports.
    static func start(drainTimeout: Int) throws -> (ChildProcess, Int) {
        let echo = try ChildProcess(
            binary, ["--listen", "127.0.0.1:0", "--threads", "1", "--drain-timeout", String(drainTimeout)])
        #expect(echo.waitForOutput("listening"), "\(echo.output)")
        let marker = "listening on 127.0.0.1:"
        guard let start = echo.output.range(of: marker)?.upperBound,
            let port = Int(echo.output[start...].prefix { $0.isNumber })
        else { throw Command.Failure(description: "no port in: \(echo.output)") }
        return (echo, port)
    }

    /// Opens a streamed echo and sends its first bytes; returns once they came back.
    static func openStream(port: Int) throws -> (any Channel, Recorder, NIOLoopBound<HTTP2Stream>) {
        let (channel, client) = try HTTP2TestClient.connect(port: port)
        let headers = [
            HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"), HTTP2Header(":authority", "echo"),
            HTTP2Header(":path", "/drain"), HTTP2Header("x-echo-stream", "1"),
        ]
        let (recorder, stream) = try channel.eventLoop.submit {
            let recorder = Recorder(closed: channel.eventLoop.makePromise())
            let stream = try client.value.openStream(headers, endStream: false, handler: recorder)
            stream.write(ByteBuffer(string: "first "))
            return (recorder, NIOLoopBound(stream, eventLoop: channel.eventLoop))
        }.wait()
        Command.eventually { recorder.seen.withLockedValue { $0.body.count } == 6 }
        return (channel, recorder, stream)
    }

    @Test func sigtermLetsInFlightStreamsFinishAndRefusesNewConnections() async throws {
        try await blocking {
            let (echo, port) = try Self.start(drainTimeout: 10)
            defer { echo.stop() }
            let (channel, recorder, stream) = try Self.openStream(port: port)
            defer { try? channel.close().wait() }

            echo.signal(SIGTERM)
            #expect(echo.waitForOutput("draining 1 connection"), "\(echo.output)")
            // The listener is closed: a new connection is refused.
            Command.eventually {
                (try? ClientBootstrap(group: HTTP2TestClient.group).connect(host: "127.0.0.1", port: port).wait())
                    == nil
            }
            #expect(throws: (any Error).self) {
                try ClientBootstrap(group: HTTP2TestClient.group).connect(host: "127.0.0.1", port: port).wait()
            }
            // The stream that was in flight still completes.
            try channel.eventLoop.submit { stream.value.write(ByteBuffer(string: "second"), endStream: true) }.wait()
            let seen = try recorder.closed.futureResult.wait()
            #expect(seen.status == "200")
            #expect(String(decoding: seen.body, as: UTF8.self) == "first second")
            #expect(seen.closedWith == .noError)
            // Then the process exits by itself, successfully.
            let status = echo.wait()
            #expect(ChildProcess.succeeded(status), "status \(status): \(echo.output)")
            #expect(echo.output.contains("weft-echo: stopped"))
        }
    }

    @Test func aStreamThatNeverEndsIsCutAtTheDrainDeadline() async throws {
        try await blocking {
            let (echo, port) = try Self.start(drainTimeout: 1)
            defer { echo.stop() }
            let (channel, recorder, _) = try Self.openStream(port: port)
            defer { try? channel.close().wait() }

            echo.signal(SIGTERM)
            // Not SIGKILLed by stop's grace period: it exited on its own, status 0.
            let status = echo.stop(grace: 8)
            #expect(ChildProcess.succeeded(status), "status \(status): \(echo.output)")
            let seen = try recorder.closed.futureResult.wait()
            #expect(seen.closedWith != .noError)
        }
    }
}
