import Foundation
import Testing
import WeftTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Spans over OTLP/HTTP: each hop records one, each the child of the hop
/// before, received by a collector that decodes them with the OpenTelemetry
/// project's own protobuf definitions.
@Suite(.serialized) struct SidecarTracingTests {
    static let python = "/opt/weft-tools/venv/bin/python"
    static let collector = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Peers/otlp_collector.py").path

    /// The spans the collector has written, once there are `count`.
    static func spans(_ file: String, _ count: Int) -> [[String: Any]] {
        var spans: [[String: Any]] = []
        Command.eventually(timeout: 20) {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            spans = text.split(separator: "\n").compactMap { try? Command.object(String($0)) }
            return spans.count >= count
        }
        return spans
    }

    /// The status of an h2c GET through a sidecar's port, as curl reports it.
    static func status(_ port: Int, _ path: String, _ headers: [String] = []) throws -> String {
        try Command.curl(
            ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge"]
                + headers.flatMap { ["-H", $0] } + ["http://127.0.0.1:\(port)\(path)"]
        ).output
    }

    static func metric(_ admin: Int, _ name: String) throws -> String? {
        try Command.curl(["-s", "http://127.0.0.1:\(admin)/metrics"]).output.split(separator: "\n")
            .first { $0.hasPrefix(name + " ") }.map { String($0.split(separator: " ").last ?? "") }
    }

    @Test func eachHopRecordsAChildSpanAndTheCollectorReceivesThem() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let spansFile = mesh.scratch.file("spans.jsonl")
            let collector = try mesh.startPeer(Self.python, [Self.collector, spansFile])
            let otlp = ["--otlp-endpoint", "http://127.0.0.1:\(collector)"]
            let echo = try mesh.startEcho(name: "backend")
            let inboundLog = mesh.scratch.file("inbound.log")
            let backend = try mesh.startSidecar(
                "backend", app: echo,
                snapshot: try mesh.snapshot(
                    "backend.json", intentions: [(MeshFixture.identity("frontend"), "backend", "allow")]),
                extra: otlp + ["--access-log", inboundLog])
            // The caller's sidecar starts no traces of its own (sample 0): only a
            // caller's sampled trace is recorded there.
            let frontend = try mesh.startSidecar(
                "frontend", app: 1,
                snapshot: try mesh.snapshot(
                    "frontend.json", upstreams: [("backend", "http", [backend.inbound]), ("gone", "http", [1])]),
                upstreams: ["backend", "gone"], extra: otlp + ["--trace-sample", "0"])
            let port = frontend.upstreams["backend"]!
            // Not recorded anywhere: no trace and none started, then a caller's
            // trace that is not sampled.
            #expect(try Self.status(port, "/quiet", []) == "200")
            #expect(
                try Self.status(
                    port, "/quiet", ["traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"])
                    == "200")
            // Recorded: a caller's sampled trace, across both hops, and a call
            // that fails (its upstream is gone).
            let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
            #expect(
                try Self.status(port, "/orders?card=4111111111111111", ["traceparent: 00-\(trace)-00f067aa0ba902b7-01"])
                    == "200")
            #expect(
                try Self.status(frontend.upstreams["gone"]!, "/x", ["traceparent: 00-\(trace)-00f067aa0ba902b8-01"])
                    == "503")

            let spans = Self.spans(spansFile, 3)
            #expect(spans.count == 3, "\(spans)")
            func attributes(_ span: [String: Any]?) -> [String: Any] { span?["attributes"] as? [String: Any] ?? [:] }
            func resource(_ span: [String: Any]?) -> [String: Any] { span?["resource"] as? [String: Any] ?? [:] }
            let outbound = spans.first {
                resource($0)["service.name"] as? String == "frontend"
                    && attributes($0)["url.path"] as? String == "/orders"
            }
            let inbound = spans.first { resource($0)["service.name"] as? String == "backend" }
            let failed = spans.first { attributes($0)["url.path"] as? String == "/x" }
            // The caller's sidecar: a client span, child of the caller's.
            #expect(outbound?["trace_id"] as? String == trace, "\(spans)")
            #expect(outbound?["parent_span_id"] as? String == "00f067aa0ba902b7")
            #expect(outbound?["kind"] as? Int == 3 && outbound?["scope"] as? String == "weft")
            #expect(attributes(outbound)["http.request.method"] as? String == "GET")
            #expect(attributes(outbound)["http.response.status_code"] as? Int == 200, "\(attributes(outbound))")
            #expect((outbound?["name"] as? String)?.hasPrefix("GET ") == true)
            #expect(resource(outbound)["weft.proxy"] as? String == "weft-sidecar")
            // The query never leaves: it may carry what should not.
            #expect(!"\(spans)".contains("4111111111111111"))
            // The service's sidecar: a server span, child of the caller's sidecar's,
            // naming who called; the application gets it as its parent.
            #expect(inbound?["trace_id"] as? String == trace)
            #expect(inbound?["parent_span_id"] as? String == outbound?["span_id"] as? String, "\(spans)")
            #expect(inbound?["kind"] as? Int == 2)
            #expect(attributes(inbound)["weft.peer"] as? String == MeshFixture.identity("frontend"))
            let start = inbound?["start"] as? Int ?? 0
            let end = inbound?["end"] as? Int ?? 0
            let now = Int(Date().timeIntervalSince1970 * 1e9)
            #expect(start <= end && abs(now - start) < 120_000_000_000, "\(start) \(end) \(now)")
            let logged = try String(contentsOfFile: inboundLog, encoding: .utf8).split(separator: "\n")
                .compactMap { try? Command.object(String($0)) }.last
            #expect(
                logged?["traceparent"] as? String == "00-\(trace)-\(inbound?["span_id"] as? String ?? "?")-01",
                "\(String(describing: logged))")
            // The failed call: an error span with the proxy's reason.
            #expect(failed?["status_code"] as? Int == 2, "\(String(describing: failed))")
            #expect(attributes(failed)["http.response.status_code"] as? Int == 503)
            #expect((failed?["status_message"] as? String)?.isEmpty == false)
            #expect(try Self.metric(frontend.admin, "weft_sidecar_spans_exported_total") == "2")
            #expect(try Self.metric(backend.admin, "weft_sidecar_spans_exported_total") == "1")
        }
    }

    @Test func aCollectorThatIsNotReadyYetGetsTheSpansLaterAndRequestsNeverWait() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let spansFile = mesh.scratch.file("spans.jsonl")
            // Two 503s first, as a collector that is starting answers.
            let collector = try mesh.startPeer(Self.python, [Self.collector, spansFile, "2"])
            let (sidecar, _) = try mesh.startPair(
                app: try mesh.startEcho(name: "backend"),
                frontendExtra: ["--otlp-endpoint", "http://127.0.0.1:\(collector)/v1/traces"])
            // A sidecar that starts traces itself (sample 1, the default): a call
            // with no traceparent is a new trace, and is answered at once.
            #expect(try Self.status(sidecar.upstreams["backend"]!, "/hello") == "200")
            let spans = Self.spans(spansFile, 1)
            #expect(spans.count == 1, "\(spans)")
            #expect(
                (spans.first?["parent_span_id"] as? String)?.isEmpty == true, "a new trace's span is a root: \(spans)")
            #expect(try Self.metric(sidecar.admin, "weft_sidecar_spans_exported_total") == "1")
            #expect(try Self.metric(sidecar.admin, "weft_sidecar_spans_dropped_total") == "0")
        }
    }

    /// An external request with no trace: the gateway starts one and records
    /// the root span, a server's; the service's sidecar records its child.
    @Test func theGatewayStartsTheTraceAndTheSidecarsSpanIsItsChild() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let spansFile = mesh.scratch.file("spans.jsonl")
            let collector = try mesh.startPeer(Self.python, [Self.collector, spansFile])
            let otlp = ["--otlp-endpoint", "http://127.0.0.1:\(collector)"]
            let echo = try mesh.startEcho(name: "payments")
            let payments = try mesh.startSidecar(
                "payments", app: echo,
                snapshot: try mesh.snapshot(
                    "payments.json", intentions: [(MeshFixture.identity("edge"), "payments", "allow")]),
                extra: otlp)
            let snapshot = try mesh.scratch.write(
                "gateway.json",
                """
                {"version": 1, "generated_at": "2026-11-28T00:00:00Z",
                 "defaults": {"default_action": "deny", "trust_domain": "\(MeshFixture.trustDomain)"},
                 "upstreams": [{"service": {"service": "payments"}, "protocol": "http",
                                "endpoints": [{"instance": "p-1", "address": "127.0.0.1", "port": \(payments.inbound)}]}],
                 "gateway_routes": {"routes": [{"name": "pay", "match": {"path": {"prefix": "/v1"}},
                                                "destinations": [{"service": "payments"}]}]}}
                """)
            let gateway = try mesh.startGateway(snapshot: snapshot, extra: otlp)
            let answer = try Command.curl([
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(gateway.http)/v1/pay",
            ])
            #expect(answer.output == "200", "\(answer)")
            let spans = Self.spans(spansFile, 2)
            func resource(_ span: [String: Any]?) -> [String: Any] { span?["resource"] as? [String: Any] ?? [:] }
            let edge = spans.first { resource($0)["weft.proxy"] as? String == "weft-gateway" }
            let inbound = spans.first { resource($0)["weft.proxy"] as? String == "weft-sidecar" }
            #expect(edge?["kind"] as? Int == 2 && (edge?["parent_span_id"] as? String)?.isEmpty == true, "\(spans)")
            #expect(resource(edge)["service.name"] as? String == "edge")
            #expect(edge?["name"] as? String == "GET pay", "\(String(describing: edge))")
            let attributes = edge?["attributes"] as? [String: Any] ?? [:]
            #expect(
                attributes["weft.route"] as? String == "pay" && attributes["client.address"] != nil, "\(attributes)")
            #expect(inbound?["trace_id"] as? String == edge?["trace_id"] as? String)
            #expect(inbound?["parent_span_id"] as? String == edge?["span_id"] as? String, "\(spans)")
        }
    }

    /// A collector that takes a post and never answers does not hold the
    /// sidecar's exit, nor crash it: SIGTERM while the post hangs still ends it,
    /// 0, within the drain and the exporter's few seconds.
    @Test func aWedgedCollectorDoesNotHoldTheExit() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let wedged = try mesh.start(
                Self.python, [Self.collector, mesh.scratch.file("spans.jsonl"), "hang"], ready: "listening")
            let collector = try #require(MeshFixture.port(in: wedged.output, after: "listening "))
            let (frontend, _) = try mesh.startPair(
                app: try mesh.startEcho(name: "backend"),
                frontendExtra: ["--otlp-endpoint", "http://127.0.0.1:\(collector)"])
            #expect(try Self.status(frontend.upstreams["backend"]!, "/x") == "200")
            // The exporter's tick sends the span into a post that never returns;
            // SIGTERM while it hangs.
            Command.eventually(timeout: 10) { wedged.output.contains("hanging") }
            #expect(wedged.output.contains("hanging"), "\(wedged.output)")
            frontend.process.signal(SIGTERM)
            let status = frontend.process.stop(grace: 15)
            #expect(ChildProcess.succeeded(status), "\(frontend.process.output)")
            #expect(frontend.process.output.contains("weft-sidecar stopped"), "\(frontend.process.output)")
        }
    }
}
