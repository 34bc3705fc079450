// weft-ca-bench: load for a running weft-ca (see Benchmarks/ca.sh).
//
//   weft-ca-bench <port> <admin-token> <trust-bundle.pem> <connections> <seconds>
//
// Every connection is HTTP/1.1 keep-alive over TLS 1.3 (WeftTLS), one request
// in flight at a time, each for its own workload identity with its own P-256
// key and CSR:
// 1. first certificates/s: POST /v1/certificates/sign with a join token
//    (max_uses 1000) — token lookup, CSR checks, signing, and a transaction
//    that spends a use and records the certificate;
// 2. renewals/s: new connections presenting the certificate from phase 1 over
//    mutual TLS — CSR checks, signing, and the group-committed ledger row.
// Prints one `key value` line per figure.
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import WeftTLS

let arguments = CommandLine.arguments
guard arguments.count == 6, let port = Int(arguments[1]), let connectionCount = Int(arguments[4]),
    let seconds = Double(arguments[5]), let bundlePEM = try? String(contentsOfFile: arguments[3], encoding: .utf8)
else {
    FileHandle.standardError.write(
        Data("usage: weft-ca-bench <port> <admin-token> <trust-bundle.pem> <connections> <seconds>\n".utf8))
    exit(64)
}
let adminToken = arguments[2]
let serverPort = port
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let roots = try Certificate.chain(pem: bundlePEM)

/// One keep-alive HTTP/1.1 connection over TLS with one request in flight.
final class Connection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    var channel: (any Channel)!
    var status = 0
    var body = ByteBuffer()
    var onResponse: ((Int, ByteBuffer) -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            let callback = onResponse
            onResponse = nil
            callback?(status, body)
        }
    }

    func send(
        _ method: HTTPMethod, _ path: String, body: String?, admin: Bool, done: @escaping (Int, ByteBuffer) -> Void
    ) {
        channel.eventLoop.execute {
            self.onResponse = done
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "localhost")
            if admin { headers.add(name: "Authorization", value: "Bearer \(adminToken)") }
            let bytes = body.map { ByteBuffer(string: $0) }
            headers.add(name: "Content-Length", value: String(bytes?.readableBytes ?? 0))
            if bytes != nil { headers.add(name: "Content-Type", value: "application/json") }
            self.channel.write(
                HTTPClientRequestPart.head(
                    HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)),
                promise: nil)
            if let bytes { self.channel.write(HTTPClientRequestPart.body(.byteBuffer(bytes)), promise: nil) }
            self.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
    }

    /// Blocks for one request (setup only).
    func call(_ method: HTTPMethod, _ path: String, body: String?, admin: Bool = true) -> (Int, ByteBuffer) {
        let done = DispatchSemaphore(value: 0)
        let result = NIOLockedValueBox((0, ByteBuffer()))
        send(method, path, body: body, admin: admin) { status, body in
            result.withLockedValue { $0 = (status, body) }
            done.signal()
        }
        done.wait()
        return result.withLockedValue { $0 }
    }

    static func open(certificate: [Certificate] = [], key: PrivateKey? = nil) throws -> Connection {
        let context = try TLSContext(
            TLSConfiguration(
                role: .client, certificateChain: certificate, privateKey: key, trustRoots: roots,
                applicationProtocols: ["http/1.1"]))
        let connection = Connection()
        connection.channel = try ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try TLSHandler(context: context))
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            }
            .connect(host: "127.0.0.1", port: serverPort).wait()
        return connection
    }
}

func json(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
}

func signBody(csr: String, token: String?) -> String {
    var object = ["csr": csr]
    if let token { object["join_token"] = token }
    return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
}

/// Sends requests back to back on every connection for `seconds`; returns
/// (ok, failed, elapsed, latencies in ms).
func drive(
    _ clients: [Connection], seconds: Double, body: @escaping (Int) -> String?,
    onOK: @escaping (Int, ByteBuffer) -> Void = { _, _ in }
)
    -> (Int, Int, Double, [Double])
{
    let counts = NIOLockedValueBox((ok: 0, failed: 0, running: clients.count, latencies: [Double]()))
    let finished = DispatchSemaphore(value: 0)
    let start = Date()
    for (index, client) in clients.enumerated() {
        func next() {
            guard Date().timeIntervalSince(start) < seconds, let request = body(index) else {
                if counts.withLockedValue({ value -> Bool in
                    value.running -= 1
                    return value.running == 0
                }) {
                    finished.signal()
                }
                return
            }
            let sent = Date()
            client.send(.POST, "/v1/certificates/sign", body: request, admin: false) { status, response in
                let latency = Date().timeIntervalSince(sent) * 1000
                let failures = counts.withLockedValue { value -> Int in
                    if status == 200 {
                        value.ok += 1
                        value.latencies.append(latency)
                    } else {
                        value.failed += 1
                    }
                    return value.failed
                }
                if status == 200 {
                    onOK(index, response)
                } else if failures < 3 {
                    FileHandle.standardError.write(Data("sign: \(status) \(String(buffer: response))\n".utf8))
                }
                next()
            }
        }
        client.channel.eventLoop.execute { next() }
    }
    finished.wait()
    let elapsed = Date().timeIntervalSince(start)
    let result = counts.withLockedValue { $0 }
    return (result.ok, result.failed, elapsed, result.latencies.sorted())
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

// Workloads: a key, an identity and a CSR each.
struct Workload {
    var identity: String
    var key: PrivateKey
    var csr: String
    var token = ""
    var chain: [Certificate] = []
}
var workloads: [Workload] = try (0..<connectionCount).map { index in
    let identity = "spiffe://weft.local/ns/bench/sa/svc-\(index)"
    let key = try PrivateKey.generateP256()
    return Workload(
        identity: identity, key: key, csr: try CertificateRequest.create(key: key, uri: identity).pemString())
}
let admin = try Connection.open()
for index in workloads.indices {
    let (status, body) = admin.call(
        .POST, "/v1/join-tokens", body: #"{"identity":"\#(workloads[index].identity)","max_uses":1000,"ttl":"1h"}"#)
    guard status == 201, let secret = json(body)["secret"] as? String else {
        FileHandle.standardError.write(Data("creating a join token: \(status) \(String(buffer: body))\n".utf8))
        exit(1)
    }
    workloads[index].token = secret
}

// 1. First certificates with join tokens.
let chains = NIOLockedValueBox([Int: String]())
let uses = NIOLockedValueBox([Int](repeating: 0, count: connectionCount))
let joinClients = try (0..<connectionCount).map { _ in try Connection.open() }
let snapshot = workloads
let (joined, joinFailed, joinElapsed, joinLatencies) = drive(
    joinClients, seconds: seconds,
    body: { index in
        let used = uses.withLockedValue { value -> Int in
            value[index] += 1
            return value[index]
        }
        return used <= 1000 ? signBody(csr: snapshot[index].csr, token: snapshot[index].token) : nil
    },
    onOK: { index, body in
        if let chain = json(body)["chain"] as? String { chains.withLockedValue { $0[index] = chain } }
    })
for client in joinClients { try? client.channel.close().wait() }
print("join_signs \(joined)")
print("join_failed \(joinFailed)")
print("join_signs_per_second \(String(format: "%.0f", Double(joined) / joinElapsed))")
print("join_p50_ms \(String(format: "%.1f", percentile(joinLatencies, 0.5)))")
print("join_p99_ms \(String(format: "%.1f", percentile(joinLatencies, 0.99)))")

// 2. Renewals over mutual TLS with those certificates.
let issued = chains.withLockedValue { $0 }
let renewClients = try (0..<connectionCount).map { index -> Connection in
    guard let pem = issued[index] else {
        FileHandle.standardError.write(Data("workload \(index) got no certificate\n".utf8))
        exit(1)
    }
    return try Connection.open(certificate: try Certificate.chain(pem: pem), key: workloads[index].key)
}
let (renewed, renewFailed, renewElapsed, renewLatencies) = drive(
    renewClients, seconds: seconds,
    body: { index in
        signBody(csr: snapshot[index].csr, token: nil)
    })
print("renewals \(renewed)")
print("renewals_failed \(renewFailed)")
print("renewals_per_second \(String(format: "%.0f", Double(renewed) / renewElapsed))")
print("renew_p50_ms \(String(format: "%.1f", percentile(renewLatencies, 0.5)))")
print("renew_p99_ms \(String(format: "%.1f", percentile(renewLatencies, 0.99)))")
