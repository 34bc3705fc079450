import NIOCore
import NIOEmbedded
import Testing
import WeftHTTP2
import WeftProtocol
import WeftProxy

/// The traffic-policy state machines, without channels: balancing, outlier
/// detection, retry budget, breakers, rate limits, deadlines, retry rules.
@Suite struct TrafficPolicyStateTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    static let outlier = try! OutlierDetection(
        consecutiveErrors: 3, interval: .seconds(10), baseEjectionTime: .seconds(30), maximumEjectionPercent: 50)

    static func set(
        _ count: Int, weights: [Int]? = nil, zones: [String?]? = nil, datacenters: [String?]? = nil,
        outlier: OutlierDetection = outlier, previous: EndpointSet? = nil, now: NIODeadline = start
    ) -> EndpointSet {
        EndpointSet(
            keys: (0..<count).map { "e\($0)" }, weights: weights ?? Array(repeating: 1, count: count),
            zones: zones ?? Array(repeating: nil, count: count),
            datacenters: datacenters ?? Array(repeating: nil, count: count), outlier: outlier, previous: previous,
            now: now)
    }

    /// Whether `slot` of a copy of `set` is available (`isAvailable` expires
    /// ejections as it reads).
    static func available(_ set: EndpointSet, _ slot: Int, now: NIODeadline) -> Bool {
        var copy = set
        return copy.isAvailable(slot, now: now)
    }

    /// Picks `count` times, finishing each attempt at once with `latency(slot)`.
    static func shares(
        _ balancer: inout Balancer, _ set: inout EndpointSet, count: Int, now: NIODeadline = start,
        hashKey: (Int) -> UInt64? = { _ in nil }, latency: (Int) -> Int64 = { _ in 1_000_000 }
    ) -> [Int: Int] {
        var random = FastRandom(seed: 7)
        var counts: [Int: Int] = [:]
        var clock = now
        for index in 0..<count {
            guard let slot = balancer.pick(in: &set, now: clock, random: &random, hashKey: hashKey(index)) else {
                continue
            }
            counts[slot, default: 0] += 1
            set.began(slot)
            clock = clock + .milliseconds(1)
            set.finished(slot, latency: latency(slot), outcome: .success, now: clock)
        }
        return counts
    }

    // MARK: Balancing

    @Test func peakEWMASendsLittleToASlowEndpoint() {
        var set = Self.set(3)
        var balancer = Balancer(policy: .peakEWMA, slots: [0, 1, 2], in: set, zone: nil, datacenter: nil)
        let counts = Self.shares(&balancer, &set, count: 3000, latency: { $0 == 2 ? 50_000_000 : 1_000_000 })
        // 50 ms against 1 ms: the slow one only wins when drawn against itself.
        #expect((counts[2] ?? 0) < 300, "\(counts)")
        #expect((counts[0] ?? 0) > 1000 && (counts[1] ?? 0) > 1000, "\(counts)")
    }

    @Test func leastRequestAvoidsTheBusyEndpoint() {
        var set = Self.set(2)
        for _ in 0..<20 { set.began(0) }
        var balancer = Balancer(
            policy: .leastRequest(choiceCount: 2), slots: [0, 1], in: set, zone: nil, datacenter: nil)
        var random = FastRandom(seed: 1)
        var toBusy = 0
        for _ in 0..<100 where balancer.pick(in: &set, now: Self.start, random: &random) == 0 { toBusy += 1 }
        #expect(toBusy == 0)
    }

    @Test(arguments: [
        (LoadBalancerPolicy.roundRobin, [3, 1], 400, [300, 100], 0),
        (LoadBalancerPolicy.roundRobin, [1, 1, 2], 400, [100, 100, 200], 0),
        (LoadBalancerPolicy.random, [3, 1], 4000, [3000, 1000], 150),
        (LoadBalancerPolicy.leastRequest(choiceCount: 2), [3, 1], 4000, [3000, 1000], 300),
    ])
    func weightsAreHonoured(policy: LoadBalancerPolicy, weights: [Int], picks: Int, expected: [Int], tolerance: Int) {
        var set = Self.set(weights.count, weights: weights)
        var balancer = Balancer(
            policy: policy, slots: Array(weights.indices), in: set, zone: nil, datacenter: nil)
        var random = FastRandom(seed: 3)
        var counts = Array(repeating: 0, count: weights.count)
        // Requests stay in flight in batches, as under load, so in-flight counts matter.
        var open: [Int] = []
        for index in 0..<picks {
            let slot = balancer.pick(in: &set, now: Self.start, random: &random)!
            counts[slot] += 1
            set.began(slot)
            open.append(slot)
            if index % 8 == 7 {
                for slot in open { set.finished(slot, latency: 1_000_000, outcome: .success, now: Self.start) }
                open.removeAll()
            }
        }
        for (count, want) in zip(counts, expected) {
            #expect(abs(count - want) <= tolerance, "\(policy): \(counts) against \(expected)")
        }
    }

    @Test func ringHashKeepsAKeyOnItsEndpointAndMovesItOnlyWhenThatOneGoes() {
        let header = try! HeaderName(validating: "x-user")
        var set = Self.set(
            5,
            outlier: try! OutlierDetection(
                consecutiveErrors: 1, interval: .seconds(10), baseEjectionTime: .seconds(30),
                maximumEjectionPercent: 100))
        var balancer = Balancer(
            policy: .ringHash(.header(header)), slots: [0, 1, 2, 3, 4], in: set, zone: nil, datacenter: nil)
        var random = FastRandom(seed: 5)
        var owner: [Int: Int] = [:]
        for user in 0..<500 {
            owner[user] = balancer.pick(
                in: &set, now: Self.start, random: &random, hashKey: Balancer.hash("user-\(user)"))
        }
        // Spread over every endpoint.
        #expect(Set(owner.values).count == 5)
        // Again: the same answers.
        for user in 0..<500 {
            do {
                let again = balancer.pick(
                    in: &set, now: Self.start, random: &random, hashKey: Balancer.hash("user-\(user)"))
                #expect(again == owner[user])
            }
        }
        // Endpoint 2 is ejected: its keys move, nobody else's does.
        set.began(2)
        set.finished(2, latency: 1, outcome: .failure, now: Self.start)
        for user in 0..<500 {
            let now = balancer.pick(in: &set, now: Self.start, random: &random, hashKey: Balancer.hash("user-\(user)"))
            if owner[user] == 2 { #expect(now != 2) } else { #expect(now == owner[user]) }
        }
    }

    @Test func theHashKeyComesFromTheHeaderOrTheCookie() {
        let headers = [
            HTTP2Header(":method", "GET"), HTTP2Header("x-user", "alice"),
            HTTP2Header("cookie", "theme=dark; session=abc123"),
        ]
        let byHeader = ForwardingPlan.hashKey(
            .ringHash(.header(try! HeaderName(validating: "x-user"))), headers: headers)
        #expect(byHeader == Balancer.hash("alice"))
        #expect(ForwardingPlan.hashKey(.ringHash(.cookie("session")), headers: headers) == Balancer.hash("abc123"))
        #expect(ForwardingPlan.hashKey(.ringHash(.cookie("missing")), headers: headers) == nil)
        #expect(ForwardingPlan.hashKey(.peakEWMA, headers: headers) == nil)
    }

    @Test func aNewEndpointWarmsUpInsteadOfBeingFlooded() {
        let first = Self.set(2)
        // A third endpoint appears later: it starts at a tenth of its weight.
        var set = Self.set(3, previous: first, now: Self.start)
        var balancer = Balancer(policy: .roundRobin, slots: [0, 1, 2], in: set, zone: nil, datacenter: nil)
        let early = Self.shares(&balancer, &set, count: 210, now: Self.start)
        #expect((early[2] ?? 0) < 20, "\(early)")
        // Past the warm-up, an equal share.
        var later = Balancer(policy: .roundRobin, slots: [0, 1, 2], in: set, zone: nil, datacenter: nil)
        let after = Self.shares(&later, &set, count: 300, now: Self.start + EndpointSet.warmUp + .seconds(1))
        #expect(after[2] == 100, "\(after)")
        // The endpoints that were there keep their record and do not warm up.
        #expect(set.states[0].warmUntil == nil)
    }

    @Test func theCallersZoneTakesTheTrafficUntilTooFewOfItsEndpointsAreLeft() {
        let always = try! OutlierDetection(
            consecutiveErrors: 1, interval: .seconds(10), baseEjectionTime: .seconds(30), maximumEjectionPercent: 100)
        var set = Self.set(
            6, zones: ["a", "a", "a", "b", "b", "b"], datacenters: ["dc1", "dc1", "dc1", "dc1", "dc1", "dc1"],
            outlier: always)
        var balancer = Balancer(policy: .peakEWMA, slots: Array(0..<6), in: set, zone: "a", datacenter: "dc1")
        func local(_ counts: [Int: Int]) -> Int { (0..<3).reduce(0) { $0 + (counts[$1] ?? 0) } }
        #expect(local(Self.shares(&balancer, &set, count: 1000)) == 1000)
        // One of three gone: the zone takes 2/3 × 1.4 ≈ 93 %.
        set.began(0)
        set.finished(0, latency: 1, outcome: .failure, now: Self.start)
        let most = local(Self.shares(&balancer, &set, count: 2000))
        #expect(abs(most - 1867) < 60, "\(most)")
        // Two of three gone: the zone takes 1/3 × 1.4 ≈ 47 %, the rest spills over.
        set.began(1)
        set.finished(1, latency: 1, outcome: .failure, now: Self.start)
        let spilled = local(Self.shares(&balancer, &set, count: 2000))
        #expect(abs(spilled - 933) < 100, "\(spilled)")
        // All gone: everything to the other zone; and back when they return.
        set.began(2)
        set.finished(2, latency: 1, outcome: .failure, now: Self.start)
        #expect(local(Self.shares(&balancer, &set, count: 500)) == 0)
        let returned = Self.start + .seconds(31)
        #expect(local(Self.shares(&balancer, &set, count: 500, now: returned)) == 500)
    }

    @Test func anotherDatacenterIsTheLastResort() {
        var set = Self.set(
            3, zones: ["a", "b", "c"], datacenters: ["dc1", "dc1", "dc2"],
            outlier: try! OutlierDetection(
                consecutiveErrors: 1, interval: .seconds(10), baseEjectionTime: .seconds(30),
                maximumEjectionPercent: 100))
        var balancer = Balancer(policy: .roundRobin, slots: [0, 1, 2], in: set, zone: "a", datacenter: "dc1")
        set.began(0)
        set.finished(0, latency: 1, outcome: .failure, now: Self.start)
        let counts = Self.shares(&balancer, &set, count: 300)
        #expect(counts[1] == 300, "\(counts)")
    }

    @Test func aRetryAvoidsTheEndpointThatFailedWhenAnotherIsThere() {
        for policy in [LoadBalancerPolicy.peakEWMA, .roundRobin, .random, .leastRequest(choiceCount: 3)] {
            var set = Self.set(3)
            var balancer = Balancer(policy: policy, slots: [0, 1, 2], in: set, zone: nil, datacenter: nil)
            var random = FastRandom(seed: 9)
            for _ in 0..<200 {
                do {
                    let slot = balancer.pick(in: &set, now: Self.start, random: &random, avoiding: 1)
                    #expect(slot != 1, "\(policy)")
                }
            }
            // Alone, it is still used.
            var single = Self.set(1)
            var only = Balancer(policy: policy, slots: [0], in: single, zone: nil, datacenter: nil)
            do {
                let slot = only.pick(in: &single, now: Self.start, random: &random, avoiding: 0)
                #expect(slot == 0)
            }
        }
    }

    // MARK: Outlier detection

    @Test func consecutiveFailuresEjectForAGrowingTimeWithinTheCap() {
        var set = Self.set(4)
        func fail(_ slot: Int, at now: NIODeadline) -> Bool {
            set.began(slot)
            return set.finished(slot, latency: 1, outcome: .failure, now: now)
        }
        do {
            let ejected = fail(0, at: Self.start)
            #expect(!ejected)
        }
        do {
            let ejected = fail(0, at: Self.start)
            #expect(!ejected)
        }
        do {
            let ejected = fail(0, at: Self.start)
            #expect(ejected)
        }
        #expect(!Self.available(set, 0, now: Self.start + .seconds(29)))
        #expect(Self.available(set, 0, now: Self.start + .seconds(30)))
        // A success in between resets the count.
        _ = fail(1, at: Self.start)
        _ = fail(1, at: Self.start)
        set.began(1)
        set.finished(1, latency: 1, outcome: .success, now: Self.start)
        do {
            let ejected = fail(1, at: Self.start)
            #expect(!ejected)
        }
        // The second ejection of endpoint 0 lasts twice as long.
        let later = Self.start + .seconds(31)
        _ = fail(0, at: later)
        _ = fail(0, at: later)
        do {
            let ejected = fail(0, at: later)
            #expect(ejected)
        }
        #expect(!Self.available(set, 0, now: later + .seconds(59)))
        #expect(Self.available(set, 0, now: later + .seconds(60)))
        // Half of four may be out: a third ejection is refused. (Endpoint 1
        // has one failure on its record already.)
        _ = fail(1, at: later)
        do {
            let ejected = fail(1, at: later)
            #expect(ejected)
        }
        for _ in 0..<5 {
            do {
                let ejected = fail(2, at: later)
                #expect(!ejected)
            }
        }
        #expect(Self.available(set, 2, now: later))
    }

    @Test func abandonedAttemptsSayNothingAboutTheEndpoint() {
        var set = Self.set(2)
        for _ in 0..<10 {
            set.began(0)
            set.finished(0, latency: 1, outcome: .abandoned, now: Self.start)
        }
        #expect(
            {
                var copy = set
                return copy.isAvailable(0, now: Self.start)
            }())
        #expect(set.states[0].inFlight == 0)
        #expect(set.states[0].latency == nil)
    }

    // MARK: Retry budget, breakers, rate limits

    @Test func theRetryBudgetIsAShareOfLiveTrafficPlusAFloor() throws {
        var budget = RetryBudgetState(try RetryBudget(percent: 20, minimumRetriesPerSecond: 1, window: .seconds(10)))
        var now = Self.start
        // No traffic: only the floor (1/s over 10 s).
        var granted = 0
        for _ in 0..<50 where budget.withdraw(now: now) { granted += 1 }
        #expect(granted == 10)
        // 100 requests add 20 more.
        for _ in 0..<100 { budget.recordRequest(now: now) }
        granted = 0
        for _ in 0..<50 where budget.withdraw(now: now) { granted += 1 }
        #expect(granted == 20)
        // A window later, the slate is clean again.
        now = now + .seconds(11)
        granted = 0
        for _ in 0..<50 where budget.withdraw(now: now) { granted += 1 }
        #expect(granted == 10)
    }

    @Test(arguments: [
        // (requests, pending, retries in flight, asking for a retry) → refused by
        (0, 0, 0, false, nil as String?),
        (2, 0, 0, false, "max_requests"),
        (1, 1, 0, false, "max_pending_requests"),
        (1, 0, 1, true, "max_retries"),
        (1, 0, 1, false, nil),
    ])
    func breakersRefuseAtTheirLimits(requests: Int, pending: Int, retries: Int, retry: Bool, refusal: String?) throws {
        var breaker = CircuitBreaker(
            try CircuitBreakerLimits(
                maximumConnections: 1, maximumPendingRequests: 1, maximumRequests: 2, maximumRetries: 1))
        for index in 0..<requests {
            #expect(breaker.admit(retry: index < retries) == nil)
            if index >= pending { breaker.opened() }
        }
        let answer = breaker.admit(retry: retry)
        if let refusal {
            #expect(answer?.contains(refusal) == true, "\(answer ?? "admitted")")
        } else {
            #expect(answer == nil)
        }
        #expect(breaker.mayConnect(open: 0) && !breaker.mayConnect(open: 1))
    }

    @Test func aTokenBucketAdmitsItsBurstThenTheRate() throws {
        var bucket = TokenBucket(try RateLimit(requestsPerSecond: 2, burst: 3), now: Self.start)
        for _ in 0..<3 {
            do {
                let wait = bucket.take(now: Self.start)
                #expect(wait == nil)
            }
        }
        do {
            let wait = bucket.take(now: Self.start)
            #expect(wait == 1)
        }
        do {
            let wait = bucket.take(now: Self.start + .milliseconds(500))
            #expect(wait == nil)
        }
        do {
            let wait = bucket.take(now: Self.start + .milliseconds(500))
            #expect(wait == 1)
        }
        // A slow rate says how long to wait.
        var slow = TokenBucket(try RateLimit(requestsPerSecond: 0.1, burst: 1), now: Self.start)
        do {
            let wait = slow.take(now: Self.start)
            #expect(wait == nil)
        }
        do {
            let wait = slow.take(now: Self.start)
            #expect(wait == 10)
        }
    }

    @Test func keyedBucketsAreSeparateAndBounded() throws {
        var buckets = KeyedTokenBuckets(try RateLimit(requestsPerSecond: 1, burst: 1), maximumKeys: 100)
        do {
            let wait = buckets.take("alice", now: Self.start)
            #expect(wait == nil)
        }
        do {
            let wait = buckets.take("alice", now: Self.start)
            #expect(wait != nil)
        }
        do {
            let wait = buckets.take("bob", now: Self.start)
            #expect(wait == nil)
        }
        for index in 0..<1000 { _ = buckets.take("caller-\(index)", now: Self.start) }
        #expect(buckets.count <= 100 && buckets.count > 50)
        // The most recent keys kept their buckets.
        do {
            let wait = buckets.take("caller-999", now: Self.start)
            #expect(wait != nil)
        }
    }

    // MARK: Deadlines and retry rules

    @Test(arguments: [
        ("1S", Int64(1000)), ("250m", 250), ("2M", 120_000), ("1H", 3_600_000), ("5000u", 5), ("7000000n", 7),
        ("99999999m", 99_999_999),
        // Past a year (99999999H would overflow 64-bit nanoseconds): a year.
        ("99999999H", Int64(24 * 366) * 3_600_000), ("9999999H", Int64(24 * 366) * 3_600_000),
    ])
    func grpcTimeoutsParse(value: String, milliseconds: Int64) {
        #expect(Deadline.grpcTimeout(value)?.nanoseconds == milliseconds * 1_000_000)
    }

    @Test(arguments: ["", "S", "1", "1s", "123456789m", "-1S", "1.5S", "1 S", "１S"])
    func badGRPCTimeoutsAreIgnored(value: String) {
        #expect(Deadline.grpcTimeout(value) == nil)
    }

    @Test func theShorterOfTheTwoDeadlinesCountsAndTravelsShortened() {
        let headers = [
            HTTP2Header(":method", "GET"), HTTP2Header("x-weft-deadline-ms", "800"),
            HTTP2Header("grpc-timeout", "300m"),
        ]
        #expect(Deadline.requested(in: headers) == .milliseconds(300))
        #expect(Deadline.requested(in: [HTTP2Header("x-weft-deadline-ms", "12a")]) == nil)
        #expect(Deadline.requested(in: [HTTP2Header("x-weft-deadline-ms", "99999999999")]) == nil)
        let rewritten = Deadline.rewrite(headers, left: .milliseconds(120), grpc: true)
        #expect(rewritten.filter { $0.name == "x-weft-deadline-ms" }.map(\.value) == ["120"])
        #expect(rewritten.filter { $0.name == "grpc-timeout" }.map(\.value) == ["120m"])
        let plain = Deadline.rewrite(headers, left: .milliseconds(120), grpc: false)
        #expect(!plain.contains { $0.name == "grpc-timeout" })
        #expect(Deadline.grpcTimeoutValue(.seconds(200_000)) == "200000S")
    }

    @Test(arguments: [
        // failure, method, explicit route policy, retry_on → allowed
        (RetryRules.Failure.refused(.connectFailed(endpoint: "a", reason: "refused")), "POST", false, "default", true),
        (.refused(.refused("REFUSED_STREAM")), "POST", false, "default", true),
        (.refused(.circuitOpen("full")), "GET", false, "default", false),
        (.refused(.noEndpoints("cart")), "GET", false, "default", false),
        (.reset(.upstreamReset("reset")), "GET", false, "default", true),
        (.reset(.upstreamReset("reset")), "POST", false, "default", false),
        (.reset(.upstreamReset("reset")), "GET", true, "reset", true),
        (.reset(.upstreamReset("reset")), "POST", false, "reset", false),
        (.reset(.upstreamReset("reset")), "POST", true, "reset", true),
        (.response(status: 503, grpcStatus: nil), "GET", false, "default", true),
        (.response(status: 500, grpcStatus: nil), "GET", false, "default", false),
        (.response(status: 503, grpcStatus: nil), "PATCH", false, "default", false),
        (.response(status: 503, grpcStatus: nil), "GET", true, "gateway-error", true),
        (.response(status: 500, grpcStatus: nil), "GET", true, "gateway-error", false),
        (.response(status: 500, grpcStatus: nil), "PUT", true, "5xx", true),
        (.response(status: 503, grpcStatus: nil), "POST", false, "gateway-error", false),
        (.response(status: 200, grpcStatus: 14), "GET", false, "default", true),
        (.response(status: 200, grpcStatus: 14), "POST", false, "default", false),
    ])
    func retryRulesAllowOnlyWhatIsSafe(
        failure: RetryRules.Failure, method: String, explicit: Bool, retryOn: String, allowed: Bool
    ) throws {
        let policy =
            retryOn == "default"
            ? RetryPolicy.default : try RetryPolicy(attempts: 2, retryOn: [RetryPolicy.Condition(rawValue: retryOn)!])
        #expect(RetryRules(policy: policy, explicit: explicit).allows(failure, method: method) == allowed)
    }
}

/// The loop's deadline heap, on an embedded loop whose clock the test moves.
@Suite struct LoopTimersTests {
    final class Owner: DeadlineOwner {
        var timerIndex = -1
        let name: Int
        let fired: (Int) -> Void
        init(_ name: Int, fired: @escaping (Int) -> Void) {
            self.name = name
            self.fired = fired
        }
        func deadlinePassed() { fired(name) }
    }

    @Test func deadlinesFireInOrderAndRemovedOnesNever() {
        let loop = EmbeddedEventLoop()
        let timers = LoopTimers(eventLoop: loop)
        var fired: [Int] = []
        var random = FastRandom(seed: 11)
        let start = loop.now
        var owners: [Owner] = []
        var deadlines: [Int: Int64] = [:]
        for name in 0..<500 {
            let owner = Owner(name) { fired.append($0) }
            let offset = Int64(random.below(1000) + 1)
            deadlines[name] = offset
            timers.add(owner, at: start + .milliseconds(offset))
            owners.append(owner)
        }
        // Every third leaves before its time; every fifth is moved later.
        for owner in owners where owner.name % 3 == 0 { timers.remove(owner) }
        for owner in owners where owner.name % 5 == 0 && owner.name % 3 != 0 {
            deadlines[owner.name] = 2000 + Int64(owner.name)
            timers.add(owner, at: start + .milliseconds(2000 + Int64(owner.name)))
        }
        #expect(timers.count == owners.count { $0.name % 3 != 0 })
        loop.advanceTime(by: .milliseconds(3000))
        let expected = owners.filter { $0.name % 3 != 0 }.map(\.name).sorted {
            (deadlines[$0]!, $0) < (deadlines[$1]!, $1)
        }
        #expect(fired.count == expected.count)
        // In deadline order (ties in any order).
        #expect(zip(fired, fired.dropFirst()).allSatisfy { deadlines[$0]! <= deadlines[$1]! })
        #expect(Set(fired) == Set(expected))
        #expect(timers.count == 0)
        #expect(owners.allSatisfy { $0.timerIndex == -1 })
    }

    @Test func anOwnerAddedDuringAFiringIsKept() {
        let loop = EmbeddedEventLoop()
        let timers = LoopTimers(eventLoop: loop)
        var fired: [Int] = []
        let late = Owner(2) { fired.append($0) }
        let early = Owner(1) { name in
            fired.append(name)
            timers.add(late, at: loop.now + .milliseconds(5))
        }
        timers.add(early, at: loop.now + .milliseconds(10))
        loop.advanceTime(by: .milliseconds(10))
        #expect(fired == [1])
        loop.advanceTime(by: .milliseconds(5))
        #expect(fired == [1, 2])
    }
}

/// What a caller reads when a policy refuses: the status and reason, and for
/// gRPC the status code gRPC's HTTP mapping gives it.
@Suite struct PolicyRefusalResponseTests {
    @Test(arguments: [
        (ProxyError.deadlineExceeded("late"), 504, "deadline-exceeded", 4),
        (.rateLimited("too many", retryAfter: 7), 429, "rate-limited", 8),
        (.circuitOpen("full"), 503, "circuit-open", 14),
        (.denied("no"), 403, "denied", 7),
        (.faultInjected(status: 418), 418, "fault-injected", 14),
    ])
    func refusalsReadTheSameInHTTPAndGRPC(error: ProxyError, status: Int, reason: String, grpcStatus: Int) {
        let errors = ProxyErrorResponse(proxyName: "weft-sidecar")
        let (headers, body) = errors.http2(error, grpc: false)
        #expect(headers.first { $0.name == ":status" }?.value == String(status))
        #expect(headers.first { $0.name == "x-weft-error" }?.value == reason)
        #expect(body != nil)
        let (grpc, none) = errors.http2(error, grpc: true)
        #expect(none == nil)
        #expect(grpc.first { $0.name == ":status" }?.value == "200")
        #expect(grpc.first { $0.name == "grpc-status" }?.value == String(grpcStatus))
        let retryAfter = headers.first { $0.name == "retry-after" }?.value
        if case .rateLimited(_, let seconds) = error {
            #expect(retryAfter == String(seconds))
            #expect(grpc.contains { $0.name == "retry-after" && $0.value == String(seconds) })
        } else {
            #expect(retryAfter == nil)
        }
    }
}
