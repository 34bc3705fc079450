// The simulated mesh: a registry (or several replicas on one database) under
// everything a fleet of sidecars does at once.
//
//   weft-registry-bench mesh <port[,port...]> <admin-token> <instances> <watchers> <seconds> <heartbeats/s> <churn/s>
//
// 1. Set-up: services of 100 instances each (`svc-K`) plus `shared`, which
//    every watcher calls; <instances> registered as fast as 64 connections go
//    (registrations/s at this size).
// 2. <watchers> sidecars long-poll discovery, each on one replica (round
//    robin): sidecar J is an instance of svc-(J mod S) and calls `shared`,
//    svc-(J+1) and svc-(J+2); sidecars of one service ask the same question, as
//    in a real mesh.
// 3. For <seconds>, at once: heartbeats at <heartbeats/s> (256 connections,
//    paced; a heartbeat that only renews a TTL changes no version), churn at
//    <churn/s> (a new instance in a random service, then its removal, through
//    every replica in turn), and every 500 ms a write to `shared` (a probe that
//    every watcher must see).
// 4. For each write: the time from sending it until every watcher whose
//    snapshot it changes has an answer at its version or later. Probes reach
//    all watchers; churn reaches the ~2 % that call the service it touched.
//
// Prints `key value` lines.
import Foundation
import NIOCore
import NIOHTTP1

/// A write whose arrival the watchers are measured by.
struct TrackedWrite {
    var service: Int  // -1: shared
    var sent: Double
    var version = 0
}

final class MeshSimulation {
    let ports: [Int]
    let instances: Int
    let watcherCount: Int
    let seconds: Double
    let heartbeatRate: Double
    let churnRate: Double
    let services: Int
    let loop: any EventLoop = Connection.group.next()

    // Touched on `loop` only while the simulation runs.
    var answers: [[(version: Int, at: Double)]] = []
    var writes: [TrackedWrite] = []
    var heartbeatsOK = 0
    var heartbeatsFailed = 0
    var churnFailed = 0
    var watcherErrors = 0
    var answerBytes = 0
    var running = true

    init(ports: [Int], instances: Int, watchers: Int, seconds: Double, heartbeatRate: Double, churnRate: Double) {
        self.ports = ports
        self.instances = instances
        self.watcherCount = watchers
        self.seconds = seconds
        self.heartbeatRate = heartbeatRate
        self.churnRate = churnRate
        self.services = max(3, instances / 100)
    }

    static func now() -> Double { Date().timeIntervalSinceReferenceDate }

    func upstreams(ofWatcher watcher: Int) -> [Int] {
        let own = watcher % services
        return [-1, (own + 1) % services, (own + 2) % services]
    }

    static func name(_ service: Int) -> String { service < 0 ? "shared" : "svc-\(service)" }

    func discoveryBody(_ watcher: Int) -> String {
        let upstreams = upstreams(ofWatcher: watcher).map { #"{"service":"\#(Self.name($0))"}"# }
        return
            #"{"kind":"sidecar","service":{"service":"\#(Self.name(watcher % services))"},"upstreams":[\#(upstreams.joined(separator: ","))]}"#
    }

    static func instanceBody(_ service: Int, _ id: String, _ octet: Int) -> String {
        #"{"id":"\#(id)","service":"\#(name(service))","address":"10.\#(octet / 65536 % 256).\#(octet / 256 % 256).\#(octet % 256)","port":8080,"ttl":"10m","labels":{"version":"v1"}}"#
    }

    /// Sends one request and waits for its answer (set-up only).
    static func call(_ connection: Connection, _ method: HTTPMethod, _ path: String, _ body: String?) -> Int {
        let done = DispatchSemaphore(value: 0)
        var status = 0
        connection.send(method, path, body: body) { code, _ in
            status = code
            done.signal()
        }
        done.wait()
        return status
    }

    func run() {
        let admin = try! Connection.open(port: ports[0])
        for service in -1..<services {
            let status = Self.call(admin, .POST, "/v1/services", #"{"name":"\#(Self.name(service))"}"#)
            precondition(status == 201 || status == 409, "creating \(Self.name(service)): \(status)")
        }
        for probe in 0..<10 {
            _ = Self.call(
                admin, .PUT, "/v1/instances/default/shared/s-\(probe)", Self.instanceBody(-1, "s-\(probe)", probe))
        }

        // 1. Registrations, as fast as 64 connections go.
        let registrars = (0..<64).map { try! Connection.open(port: ports[$0 % ports.count]) }
        let registered = DispatchSemaphore(value: 0)
        var next = 0
        var failed = 0
        var active = registrars.count
        let started = Self.now()
        func register(_ connection: Connection) {
            guard next < instances else {
                active -= 1
                if active == 0 { registered.signal() }
                return
            }
            let k = next
            next += 1
            let service = k % services
            connection.send(
                .PUT, "/v1/instances/default/\(Self.name(service))/i-\(k)",
                body: Self.instanceBody(service, "i-\(k)", k)
            ) {
                status, body in
                if status != 200 {
                    failed += 1
                    if failed < 3 {
                        FileHandle.standardError.write(Data("register: \(status) \(String(buffer: body))\n".utf8))
                    }
                }
                register(connection)
            }
        }
        loop.execute { for connection in registrars { register(connection) } }
        registered.wait()
        let registerTime = Self.now() - started
        print("instances \(instances)")
        print("services \(services + 1)")
        print("registrations_per_second \(Int(Double(instances) / registerTime))")
        print("registrations_failed \(failed)")
        for connection in registrars { try? connection.channel.close().wait() }

        // 2. Watchers: the first answer at once, then blocking queries.
        answers = Array(repeating: [], count: watcherCount)
        let watchers = (0..<watcherCount).map { try! Connection.open(port: ports[$0 % ports.count]) }
        let ready = DispatchSemaphore(value: 0)
        var first = watcherCount
        for (index, watcher) in watchers.enumerated() {
            let body = discoveryBody(index)
            func poll(_ version: Int) {
                guard running else { return }
                let path = version == 0 ? "/v1/discovery" : "/v1/discovery?index=\(version)&wait=60s"
                watcher.send(.POST, path, body: body) { status, _ in
                    let at = Self.now()
                    guard status == 200 else {
                        self.watcherErrors += 1
                        self.loop.scheduleTask(in: .milliseconds(100)) { poll(version) }
                        return
                    }
                    let got = watcher.index
                    self.answerBytes += watcher.body.readableBytes
                    if version == 0 {
                        first -= 1
                        if first == 0 { ready.signal() }
                    } else {
                        self.answers[index].append((got, at))
                    }
                    poll(max(got, version))
                }
            }
            loop.execute { poll(0) }
        }
        ready.wait()
        Thread.sleep(forTimeInterval: 1)  // every watcher blocked

        // 3. Heartbeats, churn and probes at once.
        let phaseStart = Self.now()
        let beaters = (0..<256).map { try! Connection.open(port: ports[$0 % ports.count]) }
        let interval = Double(beaters.count) / heartbeatRate
        for (index, connection) in beaters.enumerated() {
            var sequence = 0
            func beat() {
                let now = Self.now()
                guard now - phaseStart < seconds else { return }
                let due = phaseStart + Double(sequence) * interval + Double(index) * interval / Double(beaters.count)
                if due > now {
                    loop.scheduleTask(in: .microseconds(Int64((due - now) * 1e6))) { beat() }
                    return
                }
                let k = (sequence * beaters.count + index) % instances
                sequence += 1
                connection.send(.PUT, "/v1/instances/default/\(Self.name(k % services))/i-\(k)/heartbeat", body: nil) {
                    status, _ in
                    if status == 200 { self.heartbeatsOK += 1 } else { self.heartbeatsFailed += 1 }
                    beat()
                }
            }
            loop.execute { beat() }
        }
        // Churn: a new instance, then its removal, through each replica in turn.
        let writers = (0..<4).map { try! Connection.open(port: ports[$0 % ports.count]) }
        var churnSequence = 0
        var live: [(service: Int, id: String)] = []
        var rng = SystemRandomNumberGenerator()
        func churn(_ writer: Connection) {
            let now = Self.now()
            guard now - phaseStart < seconds else { return }
            let due = phaseStart + Double(churnSequence) / churnRate
            if due > now {
                loop.scheduleTask(in: .microseconds(Int64((due - now) * 1e6))) { churn(writer) }
                return
            }
            churnSequence += 1
            // Only instances whose registration was answered are removed (two
            // writers run at once).
            let removing = churnSequence % 2 == 0 && !live.isEmpty
            let target: (service: Int, id: String) =
                removing ? live.removeFirst() : (Int.random(in: 0..<services, using: &rng), "c-\(churnSequence)")
            let slot = writes.count
            writes.append(TrackedWrite(service: target.service, sent: now))
            let path = "/v1/instances/default/\(Self.name(target.service))/\(target.id)"
            let body = removing ? nil : Self.instanceBody(target.service, target.id, 200_000 + churnSequence)
            writer.send(removing ? .DELETE : .PUT, path, body: body) { status, answer in
                if status >= 300 {
                    self.churnFailed += 1
                    if self.churnFailed <= 3 {
                        FileHandle.standardError.write(
                            Data("churn \(path): \(status) \(String(buffer: answer))\n".utf8))
                    }
                } else {
                    self.writes[slot].version = writer.index
                    if !removing { live.append(target) }
                }
                churn(writer)
            }
        }
        for writer in writers.prefix(2) { loop.execute { churn(writer) } }
        // Probes: a write to `shared` every 500 ms, alternately adding and removing one instance.
        // Touched on `loop` only.
        let probeSequence = NIOLoopBoundBox(0, eventLoop: loop)
        func probe(_ writer: Connection) {
            let now = Self.now()
            guard now - phaseStart < seconds else { return }
            let due = phaseStart + 0.25 + Double(probeSequence.value) * 0.5
            if due > now {
                loop.scheduleTask(in: .microseconds(Int64((due - now) * 1e6))) { probe(writer) }
                return
            }
            probeSequence.value += 1
            let slot = writes.count
            writes.append(TrackedWrite(service: -1, sent: now))
            let path = "/v1/instances/default/shared/probe"
            let adding = probeSequence.value % 2 == 1
            writer.send(adding ? .PUT : .DELETE, path, body: adding ? Self.instanceBody(-1, "probe", 99) : nil) {
                status, _ in
                if status >= 300 { self.churnFailed += 1 } else { self.writes[slot].version = writer.index }
                probe(writer)
            }
        }
        loop.execute { probe(writers[2]) }
        Thread.sleep(forTimeInterval: seconds + 3)
        let finished = DispatchSemaphore(value: 0)
        var results: (answers: [[(version: Int, at: Double)]], writes: [TrackedWrite]) = ([], [])
        loop.execute {
            self.running = false
            results = (self.answers, self.writes)
            finished.signal()
        }
        finished.wait()
        let elapsed = seconds

        // 4. For each write, when did the last watcher it concerns have it?
        var probeReach: [Double] = []
        var churnReach: [Double] = []
        var missed = 0
        var concernedPerChurn: [Double] = []
        for write in results.writes where write.version > 0 {
            var latest = 0.0
            var concerned = 0
            for watcher in 0..<watcherCount where upstreams(ofWatcher: watcher).contains(write.service) {
                concerned += 1
                guard let answer = results.answers[watcher].first(where: { $0.version >= write.version }) else {
                    missed += 1
                    continue
                }
                latest = max(latest, answer.at - write.sent)
            }
            if write.service < 0 {
                probeReach.append(latest * 1000)
            } else if concerned > 0 {
                churnReach.append(latest * 1000)
                concernedPerChurn.append(Double(concerned))
            }
        }
        let totalAnswers = results.answers.reduce(0) { $0 + $1.count }
        print("heartbeats_per_second \(Int(Double(heartbeatsOK) / elapsed))")
        print("heartbeats_failed \(heartbeatsFailed)")
        print("churn_writes \(results.writes.filter { $0.service >= 0 }.count)")
        print("write_failures \(churnFailed)")
        print(String(format: "probe_all_watchers_p50_ms %.1f", percentile(probeReach, 0.5)))
        print(String(format: "probe_all_watchers_p99_ms %.1f", percentile(probeReach, 0.99)))
        print("probe_writes \(probeReach.count)")
        print(String(format: "churn_concerned_watchers_p50_ms %.1f", percentile(churnReach, 0.5)))
        print(String(format: "churn_concerned_watchers_p99_ms %.1f", percentile(churnReach, 0.99)))
        print(
            String(
                format: "churn_concerned_watchers_mean %.0f",
                concernedPerChurn.reduce(0, +) / Double(max(1, concernedPerChurn.count))))
        print("watcher_answers_per_second \(Int(Double(totalAnswers) / elapsed))")
        print("watchers_missed \(missed)")
        print("watcher_errors \(watcherErrors)")
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let cpu =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        print(String(format: "generator_cpu_seconds %.0f", cpu))
        print("answer_bytes_mean \(answerBytes / max(1, totalAnswers))")
    }
}

func runMeshSimulation(_ arguments: [String]) -> Never {
    guard arguments.count == 7, let instances = Int(arguments[2]), let watchers = Int(arguments[3]),
        let seconds = Double(arguments[4]), let heartbeats = Double(arguments[5]), let churn = Double(arguments[6])
    else {
        FileHandle.standardError.write(
            Data(
                "usage: weft-registry-bench mesh <port[,port...]> <admin-token> <instances> <watchers> <seconds> <heartbeats/s> <churn/s>\n"
                    .utf8))
        exit(64)
    }
    let ports = arguments[0].split(separator: ",").compactMap { Int($0) }
    Connection.token = arguments[1]
    MeshSimulation(
        ports: ports, instances: instances, watchers: watchers, seconds: seconds, heartbeatRate: heartbeats,
        churnRate: churn
    ).run()
    exit(0)
}
