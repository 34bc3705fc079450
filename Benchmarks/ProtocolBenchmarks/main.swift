// Measures the WeftProtocol work that sits on a proxy's request path or on the
// registry's write path, and compares SafeRegex with Swift's backtracking Regex in
// the same run. Run through Benchmarks/protocol.sh (release build).
//
//   weft-protocol-bench [--only regex|hostile|range|decode]
import Foundation
import WeftProtocol

/// Runs `body` repeatedly for about `seconds` and returns operations per second.
@inline(never)
func opsPerSecond(seconds: Double = 1.0, _ body: () -> Bool) -> Double {
    var sink = 0
    let clock = ContinuousClock()
    for _ in 0..<1000 where body() { sink &+= 1 }  // warm up
    var iterations = 0
    let start = clock.now
    let budget = Duration.milliseconds(Int(seconds * 1000))
    while clock.now - start < budget {
        for _ in 0..<1000 where body() { sink &+= 1 }
        iterations += 1000
    }
    if sink == -1 { print("") }  // keep `sink` alive
    return Double(iterations) / (clock.now - start).inSeconds
}

func timed(_ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    body()
    return (clock.now - start).inSeconds
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

func format(_ value: Double) -> String {
    if value >= 1_000_000 { return String(format: "%.2f M", value / 1_000_000) }
    if value >= 1000 { return String(format: "%.1f k", value / 1000) }
    return String(format: "%.1f", value)
}

typealias Row = (measurement: String, result: String, comparison: String)

/// Ordinary header matching: the gateway's terminal-type rule, both engines.
func regexRows() throws -> [Row] {
    let pattern = "(kiosk|pos|handheld)-v[0-9]+"
    let value = "handheld-v12"
    let safe = try SafeRegex(validating: pattern)
    let swiftRegex = try Regex(pattern)
    let safeRate = opsPerSecond { safe.matches(value) }
    let swiftRate = opsPerSecond { (try? swiftRegex.wholeMatch(in: value)) != nil }
    return [
        (
            "regex `\(pattern)` on `\(value)`: SafeRegex", "\(format(safeRate)) matches/s",
            String(format: "%.2f× Swift Regex", safeRate / swiftRate)
        ),
        ("regex `\(pattern)` on `\(value)`: Swift Regex", "\(format(swiftRate)) matches/s", "1.00×"),
    ]
}

/// Hostile input: `(a+)+b` against a run of `a` with no `b`. Swift Regex
/// backtracks exponentially (about 5× per two more characters); SafeRegex is
/// linear. Lengths stay small so that the Swift side finishes.
func hostileRows() throws -> [Row] {
    let pattern = "(a+)+b"
    let safe = try SafeRegex(validating: pattern)
    let swiftRegex = try Regex(pattern)
    var rows: [Row] = []
    for length in [12, 16, 18] {
        let input = String(repeating: "a", count: length)
        let swiftTime = timed { _ = try? swiftRegex.wholeMatch(in: input) }
        let safeTime = timed { _ = safe.matches(input) }
        rows.append(("regex `\(pattern)` on \(length) × `a`: Swift Regex", String(format: "%.4f s", swiftTime), ""))
        rows.append(
            (
                "regex `\(pattern)` on \(length) × `a`: SafeRegex", String(format: "%.6f s", safeTime),
                String(format: "%.0f× faster", swiftTime / max(safeTime, 1e-9))
            ))
    }
    let long = String(repeating: "a", count: 100_000)
    let longTime = timed { _ = safe.matches(long) }
    rows.append(
        (
            "regex `\(pattern)` on 100,000 × `a`: SafeRegex", String(format: "%.4f s", longTime),
            "linear; Swift Regex not run (exponential)"
        ))
    return rows
}

/// Firmware routing: parse a header value and test it against a range.
func rangeRows() throws -> [Row] {
    let range = try VersionRange(validating: ">=2.1.0 <3.0.0 || ^3.1.0-beta.2")
    let firmware = "v2.7.13"
    let rate = opsPerSecond {
        guard let version = SemanticVersion(parsingHeaderValue: Substring(firmware)) else { return false }
        return range.contains(version)
    }
    return [("firmware header `\(firmware)` parsed and matched against `\(range)`", "\(format(rate)) /s", "")]
}

/// Decoding and validating a 100-rule route table: the registry's write path, and
/// a gateway applying a snapshot.
func decodeRows() throws -> [Row] {
    let rule = { (index: Int) in
        #"{"name": "r\#(index)", "match": {"hosts": ["api.example.com"], "path": {"prefix": "/v\#(index)"}, "headers": [{"name": "x-terminal-type", "regex": "(kiosk|pos)-v[0-9]+"}, {"name": "x-firmware-version", "version": ">=2.1.0 <3.0.0"}]}, "destinations": [{"service": "catalog", "subset": {"version": "2"}, "weight": 90}, {"service": "catalog", "subset": {"version": "3"}, "weight": 10}], "timeout": "2s", "retries": {"attempts": 2}}"#
    }
    let table = Data(#"{"routes": [\#((0..<100).map(rule).joined(separator: ","))]}"#.utf8)
    let rate = opsPerSecond(seconds: 2) { (try? WeftJSON.decode(RouteTable.self, from: table)) != nil }
    // The floor: Foundation parsing the same bytes into untyped values, no
    // Codable and no validation.
    let parseRate = opsPerSecond(seconds: 2) { (try? JSONSerialization.jsonObject(with: table)) != nil }
    return [
        (
            "decode + validate a 100-rule route table (\(table.count / 1024) KiB)", "\(format(rate)) tables/s",
            String(
                format: "%.1f MB/s; %.2f× the time of a bare parse", rate * Double(table.count) / 1e6, parseRate / rate)
        ),
        ("JSONSerialization parse of the same table (floor)", "\(format(parseRate)) tables/s", ""),
    ]
}

let arguments = CommandLine.arguments
let only = arguments.firstIndex(of: "--only").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
let sections: [(String, () throws -> [Row])] = [
    ("regex", regexRows), ("hostile", hostileRows), ("range", rangeRows), ("decode", decodeRows),
]
var rows: [Row] = []
for (name, section) in sections where only == nil || only == name {
    rows += try section()
}

print("| measurement | result | comparison |")
print("| --- | --- | --- |")
for row in rows {
    // A `|` inside a cell (regex alternation, range unions) must be escaped in Markdown.
    let cells = [row.measurement, row.result, row.comparison].map { $0.replacingOccurrences(of: "|", with: "\\|") }
    print("| \(cells.joined(separator: " | ")) |")
}
