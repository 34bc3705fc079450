internal import NIOConcurrencyHelpers

/// The TLS context new connections should use, replaceable at any time: when a
/// certificate is renewed, a root added to the bundle or a serial revoked, build a
/// new `TLSContext` and `update` it here. Connections already established keep the
/// context they were created with (each `TLSHandler` holds its own), so nothing in
/// flight is dropped; the next connection uses the new one.
///
/// Read once per new connection, never per request.
public final class TLSContextProvider: Sendable {
    private let box: NIOLockedValueBox<TLSContext>

    public init(_ context: TLSContext) {
        self.box = NIOLockedValueBox(context)
    }

    public var current: TLSContext { box.withLockedValue { $0 } }

    public func update(_ context: TLSContext) {
        box.withLockedValue { $0 = context }
    }

    /// A handler for a new connection, from the current context.
    public func makeHandler(expectedPeerIdentity: String? = nil, serverName: String? = nil) throws(TLSError)
        -> TLSHandler
    {
        try TLSHandler(context: current, expectedPeerIdentity: expectedPeerIdentity, serverName: serverName)
    }
}
