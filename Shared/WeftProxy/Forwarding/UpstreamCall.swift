public import NIOCore
public import WeftHTTP2
import WeftProtocol

/// Who receives what an `UpstreamCall` brings back: the response's events as
/// stream events (with the attempt's stream, whose bytes the client consumes
/// once written), or one failure when no response will come.
public protocol UpstreamCallClient: HTTP2StreamHandler {
    /// No response will come (every attempt failed, the deadline passed, a
    /// breaker refused): answer the caller with `error`.
    func upstreamFailed(_ error: ProxyError)
}

/// The upstream side of one request: the attempts that carry out a
/// `ForwardingPlan`, and the response of the one that succeeds. The forwarder
/// (HTTP/2 callers) and the bridge (HTTP/1.1 callers) hand it the request body
/// as it arrives and receive the response through `UpstreamCallClient`.
///
/// An attempt, in this order (each step can end the request with its error):
///
/// 1. **Deadline**: no attempt starts once the deadline has passed; each one
///    carries what is left (`x-weft-deadline-ms`, and `grpc-timeout` for gRPC).
/// 2. **Circuit breakers** of the upstream: requests, pending requests, retries
///    in flight; past a limit, 503 `circuit-open` at once.
/// 3. **Balancing** (`UpstreamState.pick`): locality, then the policy, passing
///    over ejected endpoints and, on a retry, the endpoint that just failed.
/// 4. **A stream** on the endpoint's pooled connection.
///
/// Until a response is **committed** (its head passed to the client), a failure
/// may be retried: `RetryRules` say which (refusals always; resets, gateway
/// errors and gRPC UNAVAILABLE for idempotent methods or routes that ask), the
/// retry budget must have room, the deadline must leave time for the backoff
/// (full jitter; none after a refusal, which cost nothing), and the body must be
/// replayable: the first 64 KiB are kept (and consumed on the caller's side at
/// once, which bounds what is held); a longer body links flow control end to
/// end instead and can no longer be retried once any of it was sent.
///
/// Every attempt's outcome goes back to the endpoint's record (latency for
/// peak-EWMA, failures for outlier detection) and to the breakers, exactly
/// once. Use on one event loop.
public final class UpstreamCall: HTTP2StreamHandler, DeadlineOwner {
    public static let replayLimit = 64 * 1024

    /// How the caller learns its bytes were taken: consumed on its stream, or
    /// a promise (the bridge's backpressure).
    private enum Acknowledgement {
        case consume(HTTP2Stream)
        case promise(EventLoopPromise<Void>?)
        case none

        func complete(_ count: Int) {
            switch self {
            case .consume(let stream): stream.consume(count)
            case .promise(let promise): promise?.succeed()
            case .none: break
            }
        }
    }

    private struct Pending {
        var data: ByteBuffer
        var endStream: Bool
        var acknowledgement: Acknowledgement
    }

    /// The endpoint an attempt went to (mesh targets).
    private struct AttemptEndpoint {
        let state: UpstreamState
        let slot: Int
        let generation: Int
        let key: String
    }

    private let plan: ForwardingPlan
    private var client: (any UpstreamCallClient)?
    private let eventLoop: any EventLoop

    // Attempts.
    private var attempt = 0
    private var stream: HTTP2Stream?
    private var opening = false
    /// The current attempt holds a breaker admission and an endpoint's count.
    private var attemptActive = false
    private var endpoint: AttemptEndpoint?
    private var attemptStarted = NIODeadline.uptimeNanoseconds(0)
    private var headLatency: Int64?
    private var attemptOutcome: EndpointSet.Outcome?
    private var lastSlot: Int?
    private var committed = false
    private var finished = false
    private var mirrored = false

    // The request.
    private var replayable: Bool
    private var replay: [ByteBuffer] = []
    private var replayBytes = 0
    private var pending: [Pending] = []
    /// Body bytes went to a stream without being kept: no attempt can follow.
    private var bodyGone = false
    private var requestEnded: Bool
    private var trailers: [HTTP2Header]?

    // Timers: the deadline in the loop's heap, the rest (rare) NIO's.
    public var timerIndex = -1
    private var tryTimer: Scheduled<Void>?
    private var waitTimer: Scheduled<Void>?

    public init(plan: ForwardingPlan, client: any UpstreamCallClient) {
        self.plan = plan
        self.client = client
        self.eventLoop = plan.loop.eventLoop
        self.replayable = plan.retry.map { $0.policy.attempts > 0 } ?? false
        self.requestEnded = plan.endStream
    }

    /// Starts the first attempt (after fault injection's delay, if any).
    public func start() {
        if plan.endStream { sendMirror() }
        if let deadline = plan.deadline { plan.loop.timers.add(self, at: deadline) }
        if let delay = plan.delay {
            waitTimer = eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
                waitTimer = nil
                startAttempt()
            }
        } else {
            startAttempt()
        }
    }

    // MARK: The request, from the client

    /// Body bytes from an HTTP/2 caller: consumed on `source` once taken.
    public func send(_ data: ByteBuffer, endStream: Bool, consumingOn source: HTTP2Stream) {
        send(data, endStream: endStream, acknowledgement: .consume(source))
    }

    /// Body bytes from an HTTP/1.1 caller: `promise` succeeds once taken.
    public func send(_ data: ByteBuffer, endStream: Bool, promise: EventLoopPromise<Void>?) {
        send(data, endStream: endStream, acknowledgement: .promise(promise))
    }

    private func send(_ data: ByteBuffer, endStream: Bool, acknowledgement: Acknowledgement) {
        let count = data.readableBytes
        defer { if endStream { sendMirror() } }
        if endStream { requestEnded = true }
        guard !finished else {
            acknowledgement.complete(count)
            return
        }
        if replayable && !committed {
            if replayBytes + count <= Self.replayLimit {
                // Kept for another attempt, and taken from the caller at once.
                if count > 0 { replay.append(data) }
                replayBytes += count
                acknowledgement.complete(count)
                if let stream, !opening, count > 0 || endStream { stream.write(data, endStream: endStream) }
                return
            }
            // Too long to keep: from here on the body streams with flow control
            // linked end to end, and no attempt can follow once it is sent.
            replayable = false
            if stream == nil || opening {
                pending = replay.map { Pending(data: $0, endStream: false, acknowledgement: .none) }
            }
            replay.removeAll()
        }
        if let stream, !opening {
            write(data, endStream: endStream, acknowledgement, on: stream)
        } else {
            pending.append(Pending(data: data, endStream: endStream, acknowledgement: acknowledgement))
        }
    }

    private func write(_ data: ByteBuffer, endStream: Bool, _ acknowledgement: Acknowledgement, on stream: HTTP2Stream)
    {
        let count = data.readableBytes
        if count > 0 { bodyGone = true }
        switch acknowledgement {
        case .consume(let source) where count > 0:
            stream.write(data, endStream: endStream, consumingOn: source)
        case .promise(let promise):
            stream.write(data, endStream: endStream, promise: promise)
        default:
            stream.write(data, endStream: endStream)
        }
    }

    /// The request's trailers (which end it).
    public func sendTrailers(_ fields: [HTTP2Header]) {
        requestEnded = true
        trailers = fields
        sendMirror()
        guard !finished, let stream, !opening else { return }
        writeTrailers(fields, on: stream)
    }

    private func writeTrailers(_ fields: [HTTP2Header], on stream: HTTP2Stream) {
        do {
            try stream.writeTrailers(fields)
        } catch {
            stream.reset(.internalError)
        }
    }

    /// The caller went away: stop.
    public func cancel() {
        guard !finished else { return }
        finish()
        if let stream {
            stream.reset(.cancel)
            self.stream = nil
        }
        endAttempt(attemptOutcome ?? .abandoned)
    }

    deinit {
        // Never left in the heap, which holds its owners unowned.
        if timerIndex >= 0 { plan.loop.timers.remove(self) }
    }

    // MARK: Mirror

    /// Sends the copy of a whole request to the plan's mirror, once: only a
    /// request whose body was kept (64 KiB at most), and only while the loop has
    /// fewer than `MirrorSink.limit` copies in flight, so mirroring stays bounded.
    private func sendMirror() {
        guard let mirror = plan.mirror, !mirrored, replayable || replayBytes == 0 else { return }
        mirrored = true
        let loop = plan.loop
        guard loop.mirrorsInFlight < MirrorSink.limit else { return }
        var headers = plan.headers
        if let index = headers.firstIndex(where: { $0.name == ":authority" }) {
            // Envoy's convention: the copy's host says it is one.
            headers[index] = HTTP2Header(":authority", headers[index].value + "-shadow")
        }
        let hasBody = !replay.isEmpty || trailers != nil
        var copy = ForwardingPlan(
            loop: loop, target: .mesh(mirror, loop.state(for: mirror)), headers: headers, endStream: !hasBody,
            method: plan.method, name: mirror.name, grpc: plan.grpc)
        copy.deadline = plan.deadline
        copy.timeout = plan.timeout
        let sink = MirrorSink(loop: loop)
        let call = UpstreamCall(plan: copy, client: sink)
        loop.mirrorsInFlight += 1
        call.start()
        for (index, chunk) in replay.enumerated() {
            call.send(chunk, endStream: index == replay.count - 1 && trailers == nil, promise: nil)
        }
        if let trailers { call.sendTrailers(trailers) }
    }

    // MARK: Attempts

    private func startAttempt() {
        guard !finished else { return }
        let now = NIODeadline.now()
        var headers = plan.headers
        if let deadline = plan.deadline {
            guard now < deadline else {
                giveUp(deadlineError())
                return
            }
            headers = Deadline.rewrite(headers, left: deadline - now, grpc: plan.grpc)
        }
        if attempt > 0 { headers.append(HTTP2Header(WeftHeaders.retryAttempt, String(attempt))) }
        let endStream = requestEnded && replay.isEmpty && pending.isEmpty && trailers == nil
        let loop = plan.loop
        let opened: EventLoopFuture<HTTP2Stream>
        switch plan.target {
        case .local:
            // Answered by the forwarder or the bridge, which never start a call
            // for it.
            giveUp(.badRequest("\(plan.name) is answered by the proxy itself"))
            return
        case .application:
            opened = loop.openApplicationStream(headers, endStream: endStream, handler: self)
        case .mesh(let upstream, let state):
            if let refusal = state.breaker.admit(retry: attempt > 0) {
                loop.metrics.recordPolicy(.circuitOpen)
                giveUp(.circuitOpen("\(upstream.name): \(refusal)"))
                return
            }
            guard
                let slot = state.pick(
                    upstream, hashKey: plan.hashKey, avoiding: lastSlot, now: now, random: &loop.random)
            else {
                state.breaker.opened()
                state.breaker.finished(retry: attempt > 0)
                giveUp(.noEndpoints(upstream.name))
                return
            }
            if attempt == 0 { state.budget.recordRequest(now: now) }
            let chosen = upstream.allEndpoints[slot]
            state.began(slot)
            endpoint = AttemptEndpoint(state: state, slot: slot, generation: state.generation, key: chosen.poolKey)
            lastSlot = slot
            opened = loop.openMeshStream(to: upstream, endpoint: chosen, headers, endStream: endStream, handler: self)
        }
        attemptActive = true
        attemptStarted = now
        headLatency = nil
        attemptOutcome = nil
        opening = true
        if let perTry = plan.retry?.policy.perTryTimeout {
            tryTimer = eventLoop.assumeIsolated().scheduleTask(in: perTry.timeAmount) { [self] in tryTimedOut() }
        }
        let token = attempt
        opened.assumeIsolated().whenComplete { [self] result in
            if case .mesh(_, let state) = plan.target { state.breaker.opened() }
            guard token == attempt, !finished, attemptActive else {
                if case .success(let stream) = result { stream.reset(.cancel) }
                return
            }
            opening = false
            switch result {
            case .success(let stream):
                self.stream = stream
                sendHeld(on: stream, openedWithEnd: endStream)
            case .failure(let error):
                let failure = error as? ProxyError ?? .upstreamReset("\(error)")
                if case .connectFailed = failure {
                    endAttempt(.failure)
                } else {
                    endAttempt(.abandoned)
                }
                failed(.refused(failure), error: failure)
            }
        }
    }

    /// What arrived while the stream opened (or all of the body, on a retry).
    private func sendHeld(on stream: HTTP2Stream, openedWithEnd: Bool) {
        guard !openedWithEnd else { return }
        if replayable {
            for (index, chunk) in replay.enumerated() {
                let last = index == replay.count - 1 && requestEnded && trailers == nil
                stream.write(chunk, endStream: last)
            }
            if replay.isEmpty && requestEnded && trailers == nil { stream.write(ByteBuffer(), endStream: true) }
        } else {
            let held = pending
            pending.removeAll()
            for item in held { write(item.data, endStream: item.endStream, item.acknowledgement, on: stream) }
        }
        if let trailers { writeTrailers(trailers, on: stream) }
    }

    /// The current attempt is over: its outcome to the endpoint's record and
    /// the breakers, once.
    private func endAttempt(_ outcome: EndpointSet.Outcome) {
        guard attemptActive else { return }
        attemptActive = false
        tryTimer?.cancel()
        tryTimer = nil
        guard let endpoint else { return }
        self.endpoint = nil
        let now = NIODeadline.now()
        let latency = headLatency ?? (now - attemptStarted).nanoseconds
        let ejected = endpoint.state.finished(
            endpoint.slot, generation: endpoint.generation, key: endpoint.key, latency: latency, outcome: outcome,
            now: now)
        if ejected { plan.loop.metrics.recordPolicy(.ejection) }
        endpoint.state.breaker.finished(retry: attempt > 0)
    }

    /// An attempt failed before a response was committed: retry, or answer.
    private func failed(_ failure: RetryRules.Failure, error: ProxyError) {
        guard !finished else { return }
        if let wait = retryWait(after: failure) {
            attempt += 1
            plan.loop.metrics.recordPolicy(.retry)
            if wait == .zero {
                eventLoop.assumeIsolated().execute { [self] in startAttempt() }
            } else {
                waitTimer = eventLoop.assumeIsolated().scheduleTask(in: wait) { [self] in
                    waitTimer = nil
                    startAttempt()
                }
            }
        } else {
            giveUp(error)
        }
    }

    /// How long to wait before the next attempt, or nil when none may follow.
    private func retryWait(after failure: RetryRules.Failure) -> TimeAmount? {
        guard let rules = plan.retry, !committed, attempt < rules.policy.attempts else { return nil }
        guard replayable || !bodyGone else { return nil }
        guard rules.allows(failure, method: plan.method) else { return nil }
        var wait = TimeAmount.zero
        if case .refused = failure {
            // Nothing was done: try the next endpoint at once.
        } else {
            let base = rules.policy.baseBackoff.milliseconds * 1_000_000
            let cap = rules.policy.maximumBackoff.milliseconds * 1_000_000
            let ceiling = min(cap, base << min(Int64(attempt), 20))
            wait = .nanoseconds(Int64(plan.loop.random.below(Int(max(ceiling, 1)))))
        }
        if let deadline = plan.deadline, NIODeadline.now() + wait >= deadline { return nil }
        if case .mesh(_, let state) = plan.target {
            guard state.budget.withdraw(now: .now()) else {
                plan.loop.metrics.recordPolicy(.retryBudgetExhausted)
                return nil
            }
        }
        return wait
    }

    public func deadlinePassed() {
        guard !finished, !committed else { return }
        if let stream {
            stream.reset(.cancel)
            self.stream = nil
        }
        // Too slow counts against the endpoint, as a gateway timeout would.
        endAttempt(.failure)
        plan.loop.metrics.recordPolicy(.deadlineExceeded)
        giveUp(deadlineError())
    }

    private func tryTimedOut() {
        tryTimer = nil
        guard !finished, !committed, attemptActive else { return }
        if let stream {
            stream.reset(.cancel)
            self.stream = nil
        }
        opening = false
        endAttempt(.failure)
        let error = ProxyError.deadlineExceeded(
            "\(plan.name) did not answer within the route's per-try timeout (\(plan.retry!.policy.perTryTimeout!))")
        failed(.response(status: 504, grpcStatus: nil), error: error)
    }

    private func deadlineError() -> ProxyError {
        let length = plan.timeout.map { " (\($0.nanoseconds / 1_000_000) ms)" } ?? ""
        return .deadlineExceeded("\(plan.name) did not answer within the request's deadline\(length)")
    }

    /// No response will come: the client answers `error`.
    private func giveUp(_ error: ProxyError) {
        guard !finished else { return }
        finish()
        let client = self.client
        self.client = nil
        client?.upstreamFailed(error)
    }

    private func finish() {
        finished = true
        plan.loop.timers.remove(self)
        waitTimer?.cancel()
        waitTimer = nil
        tryTimer?.cancel()
        tryTimer = nil
        replay.removeAll()
        pending.removeAll()
    }

    // MARK: The response (HTTP2StreamHandler of every attempt's stream)

    public func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
        guard stream === self.stream else { return }
        if committed {
            client?.headersReceived(headers, endStream: endStream, stream: stream)
            return
        }
        guard let status = headers[first: ":status"], status.utf8.count == 3, let code = Int(status) else {
            stream.reset(.protocolError)
            self.stream = nil
            endAttempt(.failure)
            giveUp(.badResponse("no valid :status"))
            return
        }
        if code < 200 { return }  // informational: the final answer follows
        headLatency = (NIODeadline.now() - attemptStarted).nanoseconds
        let grpcStatus = endStream ? headers[first: "grpc-status"].flatMap { Int($0) } : nil
        let outcome: EndpointSet.Outcome =
            RetryRules.isGatewayError(code) || grpcStatus == 14 ? .failure : .success
        if outcome == .failure, !finished, let wait = retryWaitForResponse(code, grpcStatus) {
            // Not this answer: another attempt, elsewhere.
            stream.reset(.cancel)
            self.stream = nil
            endAttempt(outcome)
            attempt += 1
            plan.loop.metrics.recordPolicy(.retry)
            waitTimer = eventLoop.assumeIsolated().scheduleTask(in: wait) { [self] in
                waitTimer = nil
                startAttempt()
            }
            return
        }
        attemptOutcome = outcome
        commit()
        if plan.responseHeaders.isEmpty && plan.responseEdits == nil {
            client?.headersReceived(headers, endStream: endStream, stream: stream)
        } else {
            let edited = plan.responseEdits?.apply(to: headers) ?? headers
            client?.headersReceived(edited + plan.responseHeaders, endStream: endStream, stream: stream)
        }
    }

    private func retryWaitForResponse(_ code: Int, _ grpcStatus: Int?) -> TimeAmount? {
        retryWait(after: .response(status: code, grpcStatus: grpcStatus))
    }

    /// This response is the one: the caller gets it, whatever follows.
    private func commit() {
        committed = true
        plan.loop.timers.remove(self)
        tryTimer?.cancel()
        tryTimer = nil
        if replayable {
            // Taken and sent already; what follows streams linked.
            replayable = false
            replay.removeAll()
        }
    }

    public func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
        guard stream === self.stream, committed, let client else {
            stream.consume(data.readableBytes)
            return
        }
        client.dataReceived(data, endStream: endStream, stream: stream)
    }

    public func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {
        guard stream === self.stream else { return }
        self.stream = nil
        if committed {
            endAttempt(attemptOutcome ?? .success)
            finished = true
            let client = self.client
            self.client = nil
            client?.streamClosed(stream, errorCode: errorCode)
            return
        }
        guard !finished else { return }
        let error = ProxyError.streamClosed(errorCode, upstream: plan.name)
        endAttempt(.failure)
        if case .refused = error {
            failed(.refused(error), error: error)
        } else {
            failed(.reset(error), error: error)
        }
    }
}

@available(*, unavailable)
extension UpstreamCall: Sendable {}

/// Where a mirrored request's answer goes: nowhere. Its bytes are consumed as
/// they come; its failures are ignored; the loop's count of copies in flight
/// goes down when it ends.
final class MirrorSink: UpstreamCallClient {
    /// Copies in flight per event loop, at most.
    static let limit = 256
    private let loop: ProxyLoop
    private var ended = false

    init(loop: ProxyLoop) {
        self.loop = loop
    }

    private func end() {
        guard !ended else { return }
        ended = true
        loop.mirrorsInFlight -= 1
    }

    func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {}

    func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
        stream.consume(data.readableBytes)
    }

    func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) { end() }

    func upstreamFailed(_ error: ProxyError) { end() }
}

@available(*, unavailable)
extension MirrorSink: Sendable {}
