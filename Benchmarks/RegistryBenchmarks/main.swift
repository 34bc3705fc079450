// weft-registry-bench: load for a running weft-registry (see Benchmarks/registry.sh).
//
//   weft-registry-bench <port> <admin-token> <connections> <seconds> <watchers> <rounds>
//
// 1. registrations/s: <connections> keep-alive connections each PUT new instances
//    for <seconds>;
// 2. heartbeats/s: the same connections PUT heartbeats to those instances;
// 3. watchers: <watchers> connections block on /v1/discovery; each round one write
//    is sent and the time until every watcher has its answer is measured.
// Prints one `key value` line per figure.
//
//   weft-registry-bench mesh <port[,port...]> <admin-token> <instances> <watchers> <seconds> <heartbeats/s> <churn/s>
//
// The simulated mesh (MeshSimulation.swift): everything at once, against one
// replica or several on one database.
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

let arguments = CommandLine.arguments
if arguments.count > 1 && arguments[1] == "mesh" {
    runMeshSimulation(Array(arguments.dropFirst(2)))
}
guard arguments.count == 7, let port = Int(arguments[1]), let connections = Int(arguments[3]),
    let seconds = Double(arguments[4]), let watcherCount = Int(arguments[5]), let rounds = Int(arguments[6])
else {
    FileHandle.standardError.write(
        Data("usage: weft-registry-bench <port> <admin-token> <connections> <seconds> <watchers> <rounds>\n".utf8))
    exit(64)
}
Connection.token = arguments[2]
Connection.defaultPort = port

/// Sends requests back to back on every connection for `seconds`; returns (ok, failed, elapsed).
func drive(_ clients: [Connection], seconds: Double, request: @escaping (Int, Int) -> (HTTPMethod, String, String?))
    -> (Int, Int, Double)
{
    let counts = NIOLockedValueBox((ok: 0, failed: 0, running: clients.count))
    let finished = DispatchSemaphore(value: 0)
    let start = Date()
    for (index, client) in clients.enumerated() {
        var sequence = 0
        func next() {
            guard Date().timeIntervalSince(start) < seconds else {
                if counts.withLockedValue({ value -> Bool in
                    value.running -= 1
                    return value.running == 0
                }) {
                    finished.signal()
                }
                return
            }
            sequence += 1
            let (method, path, body) = request(index, sequence)
            client.send(method, path, body: body) { status, response in
                counts.withLockedValue { value in
                    if (200..<300).contains(status) { value.ok += 1 } else { value.failed += 1 }
                }
                if !(200..<300).contains(status) && counts.withLockedValue({ $0.failed }) < 3 {
                    FileHandle.standardError.write(Data("\(path): \(status) \(String(buffer: response))\n".utf8))
                }
                next()
            }
        }
        client.channel.eventLoop.execute { next() }
    }
    finished.wait()
    let elapsed = Date().timeIntervalSince(start)
    let result = counts.withLockedValue { $0 }
    return (result.ok, result.failed, elapsed)
}

// Set-up: one service to register into.
let admin = try Connection.open()
let setUp = DispatchSemaphore(value: 0)
admin.send(.POST, "/v1/services", body: #"{"name":"bench"}"#) { _, _ in setUp.signal() }
setUp.wait()

let clients = try (0..<connections).map { _ in try Connection.open() }
let perClient = NIOLockedValueBox([Int](repeating: 0, count: connections))

// 1. Registrations: every request a new instance.
let (registered, registerFailed, registerTime) = drive(clients, seconds: seconds) { client, sequence in
    perClient.withLockedValue { $0[client] = sequence }
    let id = "i-\(client)-\(sequence)"
    return (
        .PUT, "/v1/instances/default/bench/\(id)",
        #"{"id":"\#(id)","service":"bench","address":"10.0.\#(client % 250).\#(sequence % 250)","port":8080,"ttl":"10m"}"#
    )
}
print("registrations_per_second \(Int(Double(registered) / registerTime))")
print("registrations_failed \(registerFailed)")

// 2. Heartbeats to the instances just registered.
let registeredCounts = perClient.withLockedValue { $0 }
let (beats, beatsFailed, beatTime) = drive(clients, seconds: seconds) { client, sequence in
    let id = "i-\(client)-\((sequence - 1) % max(1, registeredCounts[client] - 1) + 1)"
    return (.PUT, "/v1/instances/default/bench/\(id)/heartbeat", nil)
}
print("heartbeats_per_second \(Int(Double(beats) / beatTime))")
print("heartbeats_failed \(beatsFailed)")
for client in clients { try? client.channel.close().wait() }

// 3. Watchers.
let watchers = try (0..<watcherCount).map { _ in try Connection.open() }
let discovery = #"{"kind":"sidecar","service":{"service":"web"},"upstreams":[{"service":"bench-watch"}]}"#
func currentIndex() -> Int {
    let got = DispatchSemaphore(value: 0)
    let box = NIOLockedValueBox(0)
    admin.send(.POST, "/v1/discovery", body: discovery) { _, body in
        let text = String(buffer: body)
        if let range = text.range(of: #""version":"#) {
            box.withLockedValue { $0 = Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0 }
        }
        got.signal()
    }
    got.wait()
    return box.withLockedValue { $0 }
}
admin.send(.POST, "/v1/services", body: #"{"name":"bench-watch"}"#) { _, _ in setUp.signal() }
setUp.wait()
var allSeen: [Double] = []
var each: [Double] = []
for round in 0..<rounds {
    let index = currentIndex()
    let arrivals = NIOLockedValueBox([Double]())
    let done = DispatchSemaphore(value: 0)
    for watcher in watchers {
        watcher.send(.POST, "/v1/discovery?index=\(index)&wait=60s", body: discovery) { status, _ in
            let now = Date().timeIntervalSinceReferenceDate
            if arrivals.withLockedValue({ value -> Bool in
                value.append(status == 200 ? now : .infinity)
                return value.count == watcherCount
            }) {
                done.signal()
            }
        }
    }
    Thread.sleep(forTimeInterval: 0.5)  // every watcher is blocked by now
    let written = Date().timeIntervalSinceReferenceDate
    let id = "w-\(round)"
    admin.send(
        .PUT, "/v1/instances/default/bench-watch/\(id)",
        body: #"{"id":"\#(id)","service":"bench-watch","address":"10.9.0.1","port":8080,"ttl":"10m"}"#
    ) { _, _ in }
    done.wait()
    let latencies = arrivals.withLockedValue { $0 }.map { ($0 - written) * 1000 }
    allSeen.append(latencies.max() ?? 0)
    each += latencies
}
print(String(format: "watchers_all_seen_p50_ms %.1f", percentile(allSeen, 0.5)))
print(String(format: "watchers_all_seen_p99_ms %.1f", percentile(allSeen, 0.99)))
print(String(format: "watcher_latency_p50_ms %.1f", percentile(each, 0.5)))
print(String(format: "watcher_latency_p99_ms %.1f", percentile(each, 0.99)))
exit(0)
