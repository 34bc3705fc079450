import NIOCore
import NIOPosix
import Synchronization
import WeftHTTP2

#if canImport(Glibc)
    import Glibc
#endif

/// A proxy's access log: one JSON object per request and line, written to a
/// file (appended) or to standard output.
///
/// Requests never wait for the disk: each event loop gathers its lines in a
/// buffer of its own (`AccessLogBuffer`) and hands it over every 100 ms, or at
/// 64 KiB, to one writer thread. When that thread falls more than 8 MiB behind
/// (a full disk, a stalled pipe), lines are dropped rather than held, and
/// counted in `dropped` (the `access_log_dropped_total` metric): a slow disk
/// must not become a slow proxy or an unbounded queue.
public final class AccessLog: Sendable {
    public static let backlogLimit = 8 << 20

    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let writer: NIOThreadPool
    private let backlog = Atomic<Int>(0)
    private let droppedLines = Atomic<UInt64>(0)
    /// Who wrote the lines: `weft-sidecar`, `weft-gateway`.
    let proxyName: String
    /// The share of requests logged, 0 to 1.
    let sample: Double

    /// Lines dropped because the writer was too far behind.
    public var dropped: UInt64 { droppedLines.load(ordering: .relaxed) }

    public struct Unusable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Opens `path` for appending (created 0640 if missing); `-` is standard
    /// output.
    public init(path: String, proxyName: String, sample: Double = 1) throws {
        self.proxyName = proxyName
        self.sample = min(1, max(0, sample))
        if path == "-" {
            descriptor = 1
            ownsDescriptor = false
        } else {
            let opened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard opened >= 0 else {
                throw Unusable(description: "cannot open the access log \(path): \(String(cString: strerror(errno)))")
            }
            descriptor = opened
            ownsDescriptor = true
        }
        writer = NIOThreadPool(numberOfThreads: 1)
        writer.start()
    }

    /// Takes a loop's lines; they are written in the order given.
    func write(_ buffer: ByteBuffer, lines: Int) {
        let count = buffer.readableBytes
        guard backlog.add(count, ordering: .relaxed).newValue <= Self.backlogLimit else {
            backlog.subtract(count, ordering: .relaxed)
            droppedLines.add(UInt64(lines), ordering: .relaxed)
            return
        }
        let descriptor = self.descriptor
        writer.submit { [self] _ in
            buffer.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { break }  // a closed pipe, a full disk: the lines are lost
                    offset += written
                }
            }
            backlog.subtract(count, ordering: .relaxed)
        }
    }

    /// Writes what was handed over, then closes the file. Loops flush their
    /// buffers first (`ProxyLoops.shutdown`).
    public func stop() {
        try? writer.syncShutdownGracefully()
        if ownsDescriptor { close(descriptor) }
    }
}

/// One event loop's share of the access log: lines gathered in a buffer and
/// handed to the writer every 100 ms or at 64 KiB. Only its loop touches it.
public final class AccessLogBuffer {
    static let flushSize = 64 << 10

    private let log: AccessLog
    private let eventLoop: any EventLoop
    private var buffer: ByteBuffer
    private var lines = 0
    private var flushScheduled = false
    /// `2026-11-28T10:13:44` for the second last formatted.
    private var secondText: [UInt8] = []
    private var second = -1

    private var random = FastRandom()

    /// Whether this request is one the sample logs.
    func sampled() -> Bool {
        log.sample >= 1 || random.unit() < log.sample
    }

    init(log: AccessLog, eventLoop: any EventLoop) {
        self.log = log
        self.eventLoop = eventLoop
        self.buffer = ByteBufferAllocator().buffer(capacity: 16 << 10)
    }

    /// What one request's line says, gathered as it goes.
    struct Entry {
        var method = ""
        var authority = ""
        var path = ""
        var client: String?
        var route: String?
        var upstream: String?
        var caller: String?
        var traceParent: String?
    }

    func append(
        _ entry: Entry, direction: ProxyMetrics.Direction, status: Int, seconds: Double, error: String?
    ) {
        buffer.writeStaticString("{\"time\":\"")
        writeTime()
        buffer.writeStaticString("\",\"proxy\":\"")
        buffer.writeString(log.proxyName)
        buffer.writeStaticString("\",\"direction\":\"")
        buffer.writeStaticString(direction == .inbound ? "inbound" : "outbound")
        buffer.writeStaticString("\",\"method\":")
        writeJSONString(entry.method, limit: 32)
        buffer.writeStaticString(",\"authority\":")
        writeJSONString(entry.authority, limit: 256)
        buffer.writeStaticString(",\"path\":")
        writeJSONString(entry.path, limit: 1024)
        buffer.writeStaticString(",\"status\":")
        buffer.writeString(String(status))
        buffer.writeStaticString(",\"duration_ms\":")
        buffer.writeString(String(Double(Int(seconds * 1_000_000)) / 1000))
        for (name, value) in [
            ("route", entry.route), ("upstream", entry.upstream), ("error", error), ("client", entry.client),
            ("caller", entry.caller), ("traceparent", entry.traceParent),
        ] {
            guard let value else { continue }
            buffer.writeStaticString(",\"")
            buffer.writeString(name)
            buffer.writeStaticString("\":")
            writeJSONString(value, limit: 256)
        }
        buffer.writeStaticString("}\n")
        lines += 1
        if buffer.readableBytes >= Self.flushSize {
            flush()
        } else if !flushScheduled {
            flushScheduled = true
            eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { [self] in
                flushScheduled = false
                flush()
            }
        }
    }

    /// Hands the gathered lines to the writer.
    func flush() {
        guard lines > 0 else { return }
        log.write(buffer, lines: lines)
        buffer = ByteBufferAllocator().buffer(capacity: 16 << 10)
        lines = 0
    }

    /// UTC, to the millisecond: `2026-11-28T10:13:44.123Z`.
    private func writeTime() {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        if now.tv_sec != second {
            second = now.tv_sec
            var seconds = now.tv_sec
            var parts = tm()
            gmtime_r(&seconds, &parts)
            func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
            secondText = Array(
                "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
                    .utf8)
        }
        buffer.writeBytes(secondText)
        let milliseconds = Int(now.tv_nsec / 1_000_000)
        buffer.writeStaticString(".")
        if milliseconds < 100 { buffer.writeStaticString("0") }
        if milliseconds < 10 { buffer.writeStaticString("0") }
        buffer.writeString(String(milliseconds))
        buffer.writeStaticString("Z")
    }

    /// `value` as a JSON string, cut at `limit` bytes (on a character
    /// boundary), with quotes, backslashes and control bytes escaped.
    private func writeJSONString(_ value: String, limit: Int) {
        buffer.writeStaticString("\"")
        defer { buffer.writeStaticString("\"") }
        let bytes = value.utf8
        if bytes.count <= limit && !bytes.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) {
            buffer.writeString(value)  // the usual case: nothing to escape or cut
            return
        }
        var written = 0
        for scalar in value.unicodeScalars {
            let width = UTF8.width(scalar)
            guard written + width <= limit else { break }
            written += width
            switch scalar.value {
            case 0x22: buffer.writeStaticString("\\\"")
            case 0x5C: buffer.writeStaticString("\\\\")
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                buffer.writeBytes(Array("\\u00".utf8) + [hex[Int(scalar.value >> 4)], hex[Int(scalar.value & 0xF)]])
            default:
                buffer.writeString(String(scalar))
            }
        }
    }
}

@available(*, unavailable)
extension AccessLogBuffer: Sendable {}
