import Testing

@testable import WeftHTTP2

/// HTTP2ConnectionLifecycle without a channel: every rule of streams, GOAWAY,
/// graceful shutdown, keepalive and output timing, event by event.
struct HTTP2ConnectionLifecycleStateTests {
    typealias Machine = HTTP2ConnectionLifecycle

    @Test func theIdleClockRunsOnlyWhileNoStreamIsOpen() {
        var machine = Machine(isServer: true, hasIdleTimeout: true)
        #expect(machine.activated() == .startIdleTimer)
        #expect(machine.activated() == .none)  // already running
        #expect(machine.streamOpened() == .cancelIdleTimer)
        #expect(machine.streamOpened() == .none)
        #expect(machine.streamClosed() == .none)  // one still open
        #expect(machine.streamClosed() == .startIdleTimer)
        #expect(machine.idleTimerFired() == .beginGracefulShutdown)

        var noTimeout = Machine(isServer: true, hasIdleTimeout: false)
        #expect(noTimeout.activated() == .none)
        #expect(noTimeout.streamOpened() == .none)
        #expect(noTimeout.streamClosed() == .none)
    }

    @Test func anIdleTimerThatFiresWithStreamsOpenDoesNothing() {
        var machine = Machine(isServer: true, hasIdleTimeout: true)
        _ = machine.activated()
        _ = machine.streamOpened()
        #expect(machine.idleTimerFired() == .none)
    }

    @Test func aPeersGoAwayRefusesNewStreamsAndLetsOpenOnesFinish() {
        var machine = Machine(isServer: false, hasIdleTimeout: false)
        #expect(machine.refusalReason == nil)
        _ = machine.streamOpened()
        machine.peerWentAway()
        #expect(machine.peerHasGoneAway)
        #expect(machine.refusalReason?.contains("GOAWAY") == true)
        #expect(machine.streamClosed() == .none)  // not closing: the peer decides
        #expect(machine.state == .goingAway)
    }

    @Test func aGracefulShutdownClosesWithItsLastStreamOrAtTheDeadline() {
        // (server?, open streams when it begins, expected action)
        let cases: [(Bool, Int, Machine.ShutdownAction)] = [
            (true, 0, .shutDown(sendGoAway: true, closeNow: true)),
            (true, 2, .shutDown(sendGoAway: true, closeNow: false)),
            (false, 0, .shutDown(sendGoAway: false, closeNow: true)),
            (false, 1, .shutDown(sendGoAway: false, closeNow: false)),
        ]
        for (isServer, streams, expected) in cases {
            var machine = Machine(isServer: isServer, hasIdleTimeout: true)
            for _ in 0..<streams { _ = machine.streamOpened() }
            #expect(machine.beginGracefulShutdown() == expected)
            #expect(machine.beginGracefulShutdown() == .none)  // once
            #expect(machine.refusalReason != nil)
            #expect(machine.isShuttingDown)
            for index in 0..<streams {
                #expect(machine.streamClosed() == (index == streams - 1 ? .close : .none))
            }
            #expect(machine.state == .closed)
            #expect(machine.shutdownDeadlineFired() == .none)  // already closed
        }
        var stuck = Machine(isServer: true, hasIdleTimeout: true)
        _ = stuck.streamOpened()
        _ = stuck.beginGracefulShutdown()
        #expect(stuck.shutdownDeadlineFired() == .close)
        #expect(stuck.idleTimerFired() == .none)
    }

    @Test func keepaliveSendsOnePingAndFailsWhenItIsNotAnswered() {
        var machine = Machine(isServer: false, hasIdleTimeout: false)
        #expect(machine.keepaliveTimerFired() == .sendPing)
        #expect(machine.keepaliveTimerFired() == .none)  // one outstanding at a time
        let answered = machine.pingAcknowledged()
        let unexpected = machine.pingAcknowledged()  // an ACK nobody waits for cancels nothing
        #expect(answered && !unexpected)
        #expect(machine.pingTimedOut() == .none)  // answered in time
        #expect(machine.keepaliveTimerFired() == .sendPing)
        #expect(machine.pingTimedOut() == .failAndClose)
        #expect(machine.state == .closed)
        #expect(machine.keepaliveTimerFired() == .none)
    }

    @Test func outputWaitsForTheEndOfAReadOrOneFlushPerTurn() {
        var machine = Machine(isServer: true, hasIdleTimeout: false)
        // Outside a read: the first request schedules a flush, the rest ride on it.
        #expect(machine.outputRequested() == .scheduleFlush)
        #expect(machine.outputRequested() == .none)
        #expect(machine.scheduledFlushRuns() == .flushNow)
        // Inside a read: nothing is scheduled; the read's end writes.
        machine.readBegan()
        #expect(machine.outputRequested() == .none)
        #expect(machine.readCompleted() == .flushNow)
        // A flush scheduled before a read began runs after it, and defers to it.
        #expect(machine.outputRequested() == .scheduleFlush)
        machine.readBegan()
        #expect(machine.scheduledFlushRuns() == .none)
        #expect(machine.readCompleted() == .flushNow)
        // A failed read writes its GOAWAY at once.
        machine.readBegan()
        #expect(machine.readFailed() == .flushNow)
        #expect(!machine.reading)
    }

    @Test func aClosedChannelEndsEverything() {
        var machine = Machine(isServer: true, hasIdleTimeout: true)
        _ = machine.activated()
        _ = machine.keepaliveTimerFired()
        machine.channelInactive()
        #expect(machine.state == .closed)
        #expect(machine.refusalReason != nil)
        #expect(machine.pingTimedOut() == .none)
        #expect(machine.beginGracefulShutdown() == .none)
        #expect(machine.streamClosed() == .none)
    }
}
