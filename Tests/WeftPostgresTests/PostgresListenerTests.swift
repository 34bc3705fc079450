import Foundation
import Synchronization
import Testing
import WeftPostgres
import WeftTestSupport

/// LISTEN/NOTIFY through PostgresListener, including a server restart.
@Suite(.serialized) struct PostgresListenerTests {
    /// Events seen so far, shared with the listening task.
    final class Seen: Sendable {
        let events = Mutex<[PostgresListener.Event]>([])
        func append(_ event: PostgresListener.Event) { events.withLock { $0.append(event) } }
        var payloads: [String] {
            events.withLock { events in
                events.compactMap { if case .notification(let note) = $0 { note.payload } else { nil } }
            }
        }
        func count(_ wanted: (PostgresListener.Event) -> Bool) -> Int { events.withLock { $0.filter(wanted).count } }

        /// Waits up to five seconds for `condition`.
        func eventually(_ condition: () -> Bool) async {
            for _ in 0..<100 where !condition() { try? await Task.sleep(for: .milliseconds(50)) }
        }
    }

    static func isConnected(_ event: PostgresListener.Event) -> Bool { event == .connected }
    static func isDisconnected(_ event: PostgresListener.Event) -> Bool {
        if case .disconnected = event { true } else { false }
    }

    @Test func deliversNotificationsAndListensAgainAfterARestart() async throws {
        try await TemporaryPostgres.with { server in
            guard server.canRestart else { return }
            var configuration = PostgresListener.Configuration(url: server.url, channels: ["weft_changes"])
            configuration.reconnectBackoffMaximum = .milliseconds(300)
            configuration.connectTimeoutSeconds = 2
            let listener = try PostgresListener(configuration)
            let seen = Seen()
            let listening = Task { await listener.run { seen.append($0) } }
            defer { listening.cancel() }
            await seen.eventually { seen.count(Self.isConnected) == 1 }

            let sender = try PostgresConnection(url: server.url)
            try sender.notify("weft_changes", payload: "version 1")
            try sender.notify("other_channel", payload: "not for us")
            await seen.eventually { seen.payloads == ["version 1"] }
            #expect(seen.payloads == ["version 1"])

            try await server.paused()
            await seen.eventually { seen.count(Self.isDisconnected) >= 1 }
            #expect(seen.count(Self.isDisconnected) >= 1)
            try await server.resumed()
            await seen.eventually { seen.count(Self.isConnected) == 2 }
            #expect(seen.count(Self.isConnected) == 2, "\(seen.events.withLock { $0 })")

            let again = try PostgresConnection(url: server.url)
            try again.notify("weft_changes", payload: "version 2")
            await seen.eventually { seen.payloads.count == 2 }
            #expect(seen.payloads == ["version 1", "version 2"])

            listening.cancel()
            await listening.value  // run returns once cancelled
        }
    }

    @Test func refusesChannelNamesThatWouldBeSQL() async throws {
        #expect(throws: PostgresError.self) {
            try PostgresListener(.init(url: "postgresql://unused", channels: ["x\"; DROP TABLE t; --"]))
        }
        #expect(throws: PostgresError.self) {
            try PostgresListener(.init(url: "postgresql://unused", channels: ["Bad"]))
        }
        try await TemporaryPostgres.with { server in
            let connection = try PostgresConnection(url: server.url)
            #expect(throws: PostgresError.self) { try connection.listen("1st") }
            try connection.listen("fine_name_2")
        }
    }
}
