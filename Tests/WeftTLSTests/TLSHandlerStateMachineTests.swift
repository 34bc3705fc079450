import Testing

@testable import WeftTLS

/// The handler's lifecycle rules, without a channel.
@Suite struct TLSHandlerStateMachineTests {
    @Test func writesWaitForTheHandshakeThenFlow() {
        var machine = TLSHandlerStateMachine()
        #expect(machine.write() == .buffer)
        #expect(machine.channelActive() == .startHandshake)
        #expect(machine.channelActive() == .none)
        #expect(machine.write() == .buffer)
        #expect(machine.channelRead() == .continueHandshake)
        #expect(machine.handshakeCompleted() == .announceAndFlushBufferedWrites)
        #expect(machine.handshakeCompleted() == .none)
        #expect(machine.write() == .encrypt)
        #expect(machine.channelRead() == .decrypt)
    }

    @Test func closingSendsCloseNotifyOnceAndRefusesLaterWrites() {
        var machine = TLSHandlerStateMachine()
        _ = machine.channelActive()
        _ = machine.handshakeCompleted()
        #expect(machine.closeRequested() == .sendCloseNotifyAndClose)
        #expect(machine.closeRequested() == .forward)
        #expect(machine.write() == .fail)
        #expect(machine.channelRead() == .ignore)
        #expect(machine.channelInactive() == .none)  // we closed cleanly
    }

    @Test func aCloseDuringTheHandshakeClosesAtOnce() {
        var machine = TLSHandlerStateMachine()
        _ = machine.channelActive()
        #expect(machine.closeRequested() == .closeNow)
        #expect(machine.handshakeCompleted() == .none)
    }

    @Test func thePeersCloseNotifyIsAnsweredOnce() {
        var machine = TLSHandlerStateMachine()
        _ = machine.channelActive()
        _ = machine.handshakeCompleted()
        #expect(machine.closeNotifyReceived() == .replyAndClose)
        #expect(machine.closeNotifyReceived() == .none)
        #expect(machine.channelInactive() == .none)
    }

    @Test func losingTheTransportMidSessionIsReported() {
        var machine = TLSHandlerStateMachine()
        _ = machine.channelActive()
        _ = machine.handshakeCompleted()
        #expect(machine.channelInactive() == .reportUncleanShutdown)
    }

    @Test func failuresAndTimeoutsHappenOnlyDuringTheHandshake() {
        var machine = TLSHandlerStateMachine()
        _ = machine.channelActive()
        #expect(machine.handshakeTimedOut() == .failAndClose)
        #expect(machine.handshakeFailed() == .none)
        var established = TLSHandlerStateMachine()
        _ = established.channelActive()
        _ = established.handshakeCompleted()
        #expect(established.handshakeTimedOut() == .none)
        #expect(established.protocolFailure() == .failAndClose)
        #expect(established.protocolFailure() == .none)
    }
}
