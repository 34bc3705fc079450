import Foundation
import Testing
import WeftTestSupport

/// The protocol fuzz target (Fuzz/, docs/fuzzing.md) builds, and a fixed run
/// (20,000 inputs from the committed seeds, seed 1: the same inputs every time,
/// so a failure reproduces) finds no crash and breaks no invariant. The http1
/// target is left to `scripts/fuzz`: building SwiftNIO instrumented takes five
/// minutes of a core the rest of the suite needs (the CA rotation test ran out
/// of its time limit beside it). Longer runs are `scripts/fuzz --seconds N`.
struct FuzzTargetTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// On a thread of its own: the build and the run take a minute or more,
    /// and a test that blocks one of the cooperative pool's threads (two on
    /// this machine) that long starves the in-process registries of other
    /// suites (a trickled-head test then missed its deadline).
    @Test func aFixedRunOfTheProtocolFuzzTargetFindsNothing() async throws {
        let script = Self.root.appendingPathComponent("scripts/fuzz").path
        let run = try await blocking {
            try Command.run(script, ["--runs", "20000", "--seed", "1", "--jobs", "1", "protocol"])
        }
        #expect(run.status == 0, "\(run.output)\n\(run.errors)")
        #expect(run.output.contains("fuzz protocol: Done 20000 runs"), "\(run.output)")
    }
}
