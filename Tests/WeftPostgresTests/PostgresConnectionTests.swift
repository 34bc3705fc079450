import Foundation
import Testing
import WeftPostgres
import WeftTestSupport

/// libpq from Swift, against a real throwaway PostgreSQL server.
@Suite(.serialized) struct PostgresConnectionTests {
    @Test func runsParameterizedStatementsAgainstARealServer() async throws {
        try await TemporaryPostgres.with { server in
            let connection = try PostgresConnection(url: server.url)
            #expect(connection.serverVersion >= 120000)
            #expect(PostgresConnection.libraryVersion >= 120000)
            #expect(try connection.query("SELECT $1::int + $2::int", ["40", "2"]) == [["42"]])
            // Values travel as parameters, never as SQL: a quote is just a character.
            try connection.query("CREATE TABLE notes (id serial PRIMARY KEY, body text)")
            let hostile = "'); DROP TABLE notes; --"
            try connection.query("INSERT INTO notes (body) VALUES ($1), ($2)", [hostile, nil])
            #expect(try connection.query("SELECT body FROM notes ORDER BY id") == [[hostile], [nil]])
            #expect(try connection.query("SELECT count(*) FROM notes") == [["2"]])
        }
    }

    @Test func mapsServerErrorsWithTheirSQLState() async throws {
        try await TemporaryPostgres.with { server in
            let connection = try PostgresConnection(url: server.url)
            #expect {
                try connection.query("SELEC 1")
            } throws: { error in
                (error as? PostgresError)?.kind == .statementFailed && (error as? PostgresError)?.sqlState == "42601"
            }
            #expect {
                try connection.query("SELECT $1::int", ["not a number"])
            } throws: { error in
                (error as? PostgresError)?.sqlState == "22P02"
            }
            // The connection is still usable after a failed statement.
            #expect(try connection.query("SELECT 'still here'") == [["still here"]])
        }
    }

    @Test func refusesNULBytesInsteadOfTruncating() async throws {
        try await TemporaryPostgres.with { server in
            let connection = try PostgresConnection(url: server.url)
            #expect(
                throws: PostgresError(
                    .statementFailed, message: "parameter $2 contains a NUL byte, which PostgreSQL text cannot hold")
            ) {
                try connection.query("SELECT $1, $2", ["fine", "cut\0short"])
            }
        }
    }

    @Test func reportsAnUnreachableServerPrecisely() async throws {
        try await blocking {
            let port = try TemporaryPostgres.freeLoopbackPort()
            #expect {
                try PostgresConnection(url: "postgresql://weft@127.0.0.1:\(port)/postgres", connectTimeoutSeconds: 2)
            } throws: { error in
                guard let error = error as? PostgresError else { return false }
                return error.kind == .connectionFailed && error.message.contains("127.0.0.1")
            }
        }
    }

    @Test func theHelperTearsEverythingDown() async throws {
        try await blocking {
            guard ProcessInfo.processInfo.environment["WEFT_TEST_DATABASE_URL"] == nil else { return }
            let server = try TemporaryPostgres.start()
            let directory = try #require(server.directory)
            #expect(FileManager.default.fileExists(atPath: directory + "/data/PG_VERSION"))
            _ = try PostgresConnection(url: server.url)
            server.stop()
            #expect(!FileManager.default.fileExists(atPath: directory))
            #expect(throws: PostgresError.self) { try PostgresConnection(url: server.url, connectTimeoutSeconds: 2) }
            server.stop()  // idempotent
        }
    }
}
