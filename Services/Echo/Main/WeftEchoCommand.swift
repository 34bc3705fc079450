import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import WeftEcho
import WeftProtocol
import WeftTLS

/// `weft-echo`: parse flags, start the server, run until SIGTERM or SIGINT.
@main
struct WeftEchoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft-echo",
        abstract: "Answers every HTTP request with what it received.",
        discussion: """
            Serves HTTP/1.1 and HTTP/2 with prior knowledge (h2c) on one cleartext port, or, \
            with --tls-cert and --tls-key, TLS with ALPN (h2, http/1.1).

            By default each response is a JSON report: method, path, authority, protocol, \
            headers, body (bodies over 1 MiB get 413), trailers, and the client's SPIFFE ID \
            when it presented a verified certificate. With the request header \
            'x-echo-stream: 1' the body is streamed back as it arrives instead, with no size \
            limit and without buffering.
            """)

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host:port"))
    var listen: String = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("PEM certificate chain (leaf first). Enables TLS; needs --tls-key.", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key (EC P-256) for --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Option(
        help: ArgumentHelp(
            "PEM CA certificates. Requires and verifies client certificates (needs TLS).", valueName: "file"))
    var clientCa: String?

    @Option(help: "Event loop threads (default: one per core).")
    var threads: Int = System.coreCount

    @Option(
        help: ArgumentHelp(
            "On SIGTERM or SIGINT, how long open connections may take to finish their requests.",
            valueName: "seconds"))
    var drainTimeout: Int = 10

    @Option(
        help: ArgumentHelp(
            "A name sent back in x-echo-name with every report, to tell instances apart.", valueName: "name"))
    var name: String?

    @Option(
        help: ArgumentHelp(
            "Wait this long before sending each report: a slow instance, for trying latency-aware balancing.",
            valueName: "milliseconds"))
    var delayMs: Int = 0

    @Option(
        help: ArgumentHelp(
            "The status of every report (e.g. 503): a failing instance, for trying retries and outlier detection.",
            valueName: "code"))
    var status: Int = 200

    func validate() throws {
        guard (0...600_000).contains(delayMs) else { throw ValidationError("--delay-ms must be between 0 and 600000") }
        guard (200...599).contains(status) else { throw ValidationError("--status must be between 200 and 599") }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if clientCa != nil && tlsCert == nil {
            throw ValidationError("--client-ca needs TLS (--tls-cert and --tls-key)")
        }
        _ = try Self.parseAddress(listen)
        if let name, name.isEmpty || name.utf8.count > 128 || !name.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) {
            throw ValidationError("--name: 1 to 128 printable ASCII characters")
        }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256") }
        guard (0...3600).contains(drainTimeout) else {
            throw ValidationError("--drain-timeout must be between 0 and 3600 seconds")
        }
    }

    static func parseAddress(_ text: String) throws -> (String, Int) {
        do {
            let address = try ListenAddress(validating: text)
            return (address.host, address.port)
        } catch {
            throw ValidationError("--listen: \(error.reason)")
        }
    }

    func run() throws {
        let (host, port) = try Self.parseAddress(listen)
        var configuration = EchoServer.Configuration(
            host: host, port: port, name: name, delay: delayMs > 0 ? .milliseconds(Int64(delayMs)) : nil,
            status: status)
        if let tlsCert, let tlsKey {
            do {
                let chain = try Certificate.chain(pem: String(contentsOfFile: tlsCert, encoding: .utf8))
                let key = try PrivateKey(pem: String(contentsOfFile: tlsKey, encoding: .utf8))
                let roots =
                    try clientCa.map { try Certificate.chain(pem: String(contentsOfFile: $0, encoding: .utf8)) } ?? []
                configuration.tls = TLSConfiguration(
                    role: .server, certificateChain: chain, privateKey: key, trustRoots: roots,
                    requirePeerCertificate: clientCa != nil, applicationProtocols: ["h2", "http/1.1"],
                    minimumVersion: .tls12)
            } catch {
                throw ValidationError("cannot load TLS material: \(error)")
            }
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let server: EchoServer
        do {
            server = try EchoServer.start(configuration, group: group)
        } catch {
            try? group.syncShutdownGracefully()
            throw ValidationError("cannot listen on \(listen): \(error)")
        }
        let scheme = configuration.tls == nil ? "http (HTTP/1.1 and h2c)" : "https (ALPN h2, http/1.1)"
        log("weft-echo listening on \(host):\(server.port), \(scheme)")

        // Graceful shutdown on SIGTERM/SIGINT: stop accepting, let open connections
        // finish what they started (up to --drain-timeout), then stop.
        let drained = group.next().makePromise(of: Void.self)
        let draining = Mutex(false)
        let deadline = TimeAmount.seconds(Int64(drainTimeout))
        let signals = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                // A second signal during the drain changes nothing.
                guard
                    !draining.withLock({ started in
                        defer { started = true }
                        return started
                    })
                else { return }
                log(
                    "weft-echo: signal \(number), draining \(server.connections.count) connection(s) "
                        + "for up to \(drainTimeout)s")
                drained.completeWith(server.shutdown(deadline: deadline))
            }
            source.resume()
            return source
        }
        try? drained.futureResult.wait()
        for source in signals { source.cancel() }
        try group.syncShutdownGracefully()
        log("weft-echo: stopped")
    }
}

/// Writes a line to standard output at once (unbuffered), so supervisors and tests
/// see it when it happens.
func log(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
