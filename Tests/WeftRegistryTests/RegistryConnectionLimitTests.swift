import Foundation
import Testing
import WeftRegistry
import WeftTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Callers that hold connections without finishing a request: a head trickled
/// in (slowloris) is cut off, and connections past the cap are closed as they
/// arrive while the ones within it keep working.
@Suite struct RegistryConnectionLimitTests {
    /// A raw TCP connection to the registry.
    typealias Socket = RawSocket

    @Test func aHeadTrickledInIsCutOffAndAWholeOneIsAnswered() async throws {
        // 3 s: short for a test, long enough that a loaded machine still reads a
        // whole head sent at once before it (1 s was not, once).
        let quick: (inout RegistryConfiguration) -> Void = { $0.connectionLimits.headerReadTimeout = .seconds(3) }
        try await RegistryHarness.with(configure: quick) { registry in
            // Read for up to 90 s: a server without the deadline keeps the
            // connection and the read gives up (nil). No wall-clock bound on
            // top: with the whole suite starting beside it, the registry's
            // accept loop (a task) was once starved for over 30 s before it
            // even took the connection.
            let slow = try Socket(port: registry.port, receiveTimeout: 90)
            slow.send("GET /healthz HTTP/1.1\r\nHost: registry\r\n")  // never finished
            // Read on a thread of its own: blocking one of the cooperative pool's
            // (two, on this machine) starved the registry under test, whose
            // accept loop is a task.
            let answer = try await blocking { slow.readToClose() }
            #expect(answer == "", "the server answered or kept the connection: \(String(describing: answer))")

            // A whole head in time is answered (and the deadline no longer applies).
            // Retried: with the whole suite running in this process, the server's
            // event loop can be starved past the deadline before it reads a head
            // sent at once (seen with 1 s and 3 s).
            var reply = ""
            #expect(
                try await eventually(seconds: 60) {
                    let prompt = try Socket(port: registry.port)
                    prompt.send("GET /healthz HTTP/1.1\r\nHost: registry\r\nConnection: close\r\n\r\n")
                    reply = try await blocking { prompt.readToClose() } ?? ""
                    return reply.hasPrefix("HTTP/1.1 200")
                }, "\(reply)")
        }
    }

    /// Against a registry process of its own (the in-process harness's HTTP
    /// client keeps connections of its own open, which would count).
    @Test func connectionsPastTheCapAreClosedAsTheyArrive() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let registry = try mesh.startRegistry(postgres, extra: ["--max-connections", "16"])
            let request = "GET /healthz HTTP/1.1\r\nHost: registry\r\n\r\n"
            var held: [Socket] = []
            for _ in 0..<16 {
                let socket = try Socket(port: registry.port)
                socket.send(request)
                #expect(socket.readOnce().hasPrefix("HTTP/1.1 200"))
                held.append(socket)
            }
            // The seventeenth is closed as it arrives, without an answer.
            let extra = try Socket(port: registry.port)
            extra.send(request)
            #expect(extra.readOnce() == "", "a connection past the cap was served")
            // The held ones keep working, and one closed makes room for a new one.
            held[0].send(request)
            #expect(held[0].readOnce().hasPrefix("HTTP/1.1 200"))
            held.removeLast()
            var served = false
            var kept: Socket?
            Command.eventually {
                guard let next = try? Socket(port: registry.port) else { return false }
                next.send(request)
                served = next.readOnce().hasPrefix("HTTP/1.1 200")
                if served { kept = next }
                return served
            }
            #expect(served && kept != nil, "no room after a connection closed")
            #expect(registry.process.output.contains("connection refused: 16 open, the limit is 16"))
        }
    }
}
