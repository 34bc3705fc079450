import Testing

@testable import WeftProxy

/// `traceparent` taken apart and put back together, and every way a value can
/// be wrong (each of which makes a proxy start a trace of its own).
struct TraceContextTests {
    @Test func aValidValueRoundTrips() throws {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let context = try #require(TraceContext(text))
        #expect(context.traceHigh == 0x4bf9_2f35_77b3_4da6 && context.traceLow == 0xa3ce_929d_0e0e_4736)
        #expect(context.spanID == 0x00f0_67aa_0ba9_02b7 && context.sampled)
        #expect(context.header == text)
        let unsampled = try #require(TraceContext("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"))
        #expect(!unsampled.sampled && unsampled.header.hasSuffix("-00"))
        // Other flag bits are kept out: only "sampled" is defined.
        #expect(TraceContext("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")?.sampled == true)
    }

    @Test(arguments: [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  // no flags
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  // uppercase
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // forbidden version
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // a later version, longer
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  // not hex
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",  // wrong separators
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0é",  // not ASCII
    ])
    func aBadValueIsNoContext(_ text: String) {
        #expect(TraceContext(text) == nil)
    }

    @Test func newTracesAndSpansAreNeverZero() {
        let ids = TraceIDGenerator()
        for _ in 0..<1000 {
            let trace = ids.newTrace(sampled: false)
            #expect(trace.traceHigh | trace.traceLow != 0 && trace.spanID != 0 && !trace.sampled)
            #expect(TraceContext(trace.header) == trace)
        }
    }

    @Test func stringsAreCutOnCharacterBoundaries() {
        #expect(OTLPEncoding.cut("/caf\u{e9}s", limit: 5) == "/caf")
        #expect(OTLPEncoding.cut("/ab", limit: 5) == "/ab")
        #expect(OTLPEncoding.varintSize(127) == 1 && OTLPEncoding.varintSize(128) == 2)
        #expect(OTLPEncoding.varintSize(UInt64.max) == 10)
    }
}
