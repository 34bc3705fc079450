import NIOCore

/// The few OpenTelemetry protobuf messages a proxy sends (OTLP/HTTP,
/// `opentelemetry/proto/collector/trace/v1` `ExportTraceServiceRequest`),
/// written straight into byte buffers: a span is a few hundred bytes made once
/// per sampled request, and a protobuf runtime would cost the sidecar more
/// binary and more allocation than these forty lines of wire format.
///
/// Field numbers are those of `opentelemetry/proto/trace/v1/trace.proto` and
/// `common/v1/common.proto`.
enum OTLPEncoding {
    enum Wire: UInt8 {
        case varint = 0
        case fixed64 = 1
        case length = 2
    }

    /// Span.SpanKind.
    enum SpanKind: UInt64 {
        case server = 2
        case client = 3
    }

    static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var rest = value >> 7
        while rest != 0 {
            size += 1
            rest >>= 7
        }
        return size
    }

    /// The bytes of `value` that fit in `limit`, cut at a character boundary
    /// (protobuf strings must be UTF-8 whole).
    static func cut(_ value: Substring, limit: Int) -> Substring {
        guard value.utf8.count > limit else { return value }
        var end = value.startIndex
        var used = 0
        for index in value.unicodeScalars.indices {
            let width = UTF8.width(value.unicodeScalars[index])
            guard used + width <= limit else { break }
            used += width
            end = value.unicodeScalars.index(after: index)
        }
        return value[..<end]
    }

    /// The `ExportTraceServiceRequest` for `spans` (each already written as a
    /// `ScopeSpans.spans` field by `SpanWriter`), with the proxy's `resource`
    /// attributes and instrumentation scope.
    static func request(resource: [(String, String)], scopeVersion: String, spans: [ByteBuffer]) -> [UInt8] {
        var resourceBody = ByteBuffer()
        for (key, value) in resource { resourceBody.writeAttribute(1, dynamicKey: Substring(key), Substring(value)) }
        var scopeBody = ByteBuffer()
        scopeBody.writeProtoString(1, "weft")
        scopeBody.writeProtoString(2, Substring(scopeVersion))
        let spanBytes = spans.reduce(0) { $0 + $1.readableBytes }
        let scopeSpans = 1 + varintSize(UInt64(scopeBody.readableBytes)) + scopeBody.readableBytes + spanBytes
        let resourceSpans =
            1 + varintSize(UInt64(resourceBody.readableBytes)) + resourceBody.readableBytes
            + 1 + varintSize(UInt64(scopeSpans)) + scopeSpans
        var out = ByteBuffer()
        out.reserveCapacity(1 + varintSize(UInt64(resourceSpans)) + resourceSpans)
        out.writeTag(1, .length)  // ExportTraceServiceRequest.resource_spans
        out.writeVarint(UInt64(resourceSpans))
        out.writeTag(1, .length)  // ResourceSpans.resource
        out.writeVarint(UInt64(resourceBody.readableBytes))
        out.writeImmutableBuffer(resourceBody)
        out.writeTag(2, .length)  // ResourceSpans.scope_spans
        out.writeVarint(UInt64(scopeSpans))
        out.writeTag(1, .length)  // ScopeSpans.scope
        out.writeVarint(UInt64(scopeBody.readableBytes))
        out.writeImmutableBuffer(scopeBody)
        for batch in spans { out.writeImmutableBuffer(batch) }  // ScopeSpans.spans, one field each
        return Array(out.readableBytesView)
    }
}

extension ByteBuffer {
    mutating func writeVarint(_ value: UInt64) {
        if value < 0x80 {
            writeInteger(UInt8(value))
            return
        }
        var rest = value
        while rest >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        writeInteger(UInt8(rest))
    }

    mutating func writeTag(_ field: Int, _ wire: OTLPEncoding.Wire) {
        writeVarint(UInt64(field) << 3 | UInt64(wire.rawValue))
    }

    mutating func writeProtoString(_ field: Int, _ value: Substring) {
        writeTag(field, .length)
        writeVarint(UInt64(value.utf8.count))
        writeSubstring(value)
    }

    mutating func writeFixed64(_ field: Int, _ value: UInt64) {
        writeTag(field, .fixed64)
        writeInteger(value, endianness: .little)
    }

    /// An id as protobuf `bytes`: big-endian, as its hex form reads.
    mutating func writeID(_ field: Int, _ id: UInt64) {
        writeTag(field, .length)
        writeInteger(UInt8(8))
        writeInteger(id, endianness: .big)
    }

    /// A 16-byte id (a trace's), high half first.
    mutating func writeID(_ field: Int, _ high: UInt64, _ low: UInt64) {
        writeTag(field, .length)
        writeInteger(UInt8(16))
        writeInteger(high, endianness: .big)
        writeInteger(low, endianness: .big)
    }

    /// A `KeyValue` field whose value is a string.
    mutating func writeAttribute(_ field: Int, _ key: StaticString, _ value: Substring) {
        writeAttribute(
            field, keyBytes: UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount), value)
    }

    /// The same, with a key known only at run time (a resource's).
    mutating func writeAttribute(_ field: Int, dynamicKey key: Substring, _ value: Substring) {
        var key = key
        key.withUTF8 { writeAttribute(field, keyBytes: UnsafeRawBufferPointer($0), value) }
    }

    private mutating func writeAttribute(_ field: Int, keyBytes key: UnsafeRawBufferPointer, _ value: Substring) {
        let anyValue = 1 + OTLPEncoding.varintSize(UInt64(value.utf8.count)) + value.utf8.count
        let keyValue =
            1 + OTLPEncoding.varintSize(UInt64(key.count)) + key.count
            + 1 + OTLPEncoding.varintSize(UInt64(anyValue)) + anyValue
        writeTag(field, .length)
        writeVarint(UInt64(keyValue))
        writeTag(1, .length)
        writeVarint(UInt64(key.count))
        writeBytes(key)
        writeTag(2, .length)
        writeVarint(UInt64(anyValue))
        writeProtoString(1, value)  // AnyValue.string_value
    }

    /// A `KeyValue` field whose value is an integer.
    mutating func writeAttribute(_ field: Int, _ key: StaticString, _ value: Int) {
        let encoded = UInt64(bitPattern: Int64(value))
        let anyValue = 1 + OTLPEncoding.varintSize(encoded)
        let keyLength = key.utf8CodeUnitCount
        let keyValue =
            1 + OTLPEncoding.varintSize(UInt64(keyLength)) + keyLength
            + 1 + OTLPEncoding.varintSize(UInt64(anyValue)) + anyValue
        writeTag(field, .length)
        writeVarint(UInt64(keyValue))
        writeTag(1, .length)
        writeVarint(UInt64(keyLength))
        writeStaticString(key)
        writeTag(2, .length)
        writeVarint(UInt64(anyValue))
        writeTag(3, .varint)  // AnyValue.int_value
        writeVarint(encoded)
    }
}
