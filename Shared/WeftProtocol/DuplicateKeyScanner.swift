/// Finds the first object key that appears twice in a JSON document.
///
/// JSON parsers disagree on duplicate keys: Foundation keeps the first value, jq,
/// Python and Go keep the last. A route checked with one tool and applied by Weft
/// could then mean two different things, so Weft refuses duplicates outright. The
/// decoder deduplicates before any `Decodable` sees the keys, so this is a separate
/// linear pass over the bytes, run before decoding.
///
/// It only looks for duplicates: on malformed input it stops and returns nil, and
/// the JSON decoder reports the malformation.
enum DuplicateKeyScanner {
    /// Where the scan is. The keys seen in each open object live apart, in
    /// `keys`, so adding one mutates its set in place: kept inside the frame, the
    /// set was copied out, grown and written back for every key, which made an
    /// object with n keys cost n² (a 1 MiB body held a core for a minute).
    private enum Frame {
        case object(current: String?, expectingKey: Bool)
        case array(index: Int)
    }

    static func firstDuplicate(in bytes: UnsafeRawBufferPointer) -> FieldPath? {
        var frames: [Frame] = []
        var keys: [Set<String>] = []  // one per open object, innermost last
        var index = 0
        let count = bytes.count

        func path(of frames: [Frame]) -> FieldPath {
            FieldPath(
                frames.compactMap { frame in
                    switch frame {
                    case .object(let current, _): return current.map { .key($0) }
                    case .array(let position): return .index(position)
                    }
                })
        }

        while index < count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                frames.append(.object(current: nil, expectingKey: true))
                keys.append([])
                index += 1
            case UInt8(ascii: "["):
                frames.append(.array(index: 0))
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard let top = frames.popLast() else { return nil }
                if case .object = top { keys.removeLast() }
                index += 1
            case UInt8(ascii: ","):
                guard let top = frames.last else { return nil }
                switch top {
                case .array(let position): frames[frames.count - 1] = .array(index: position + 1)
                case .object(let current, _): frames[frames.count - 1] = .object(current: current, expectingKey: true)
                }
                index += 1
            case UInt8(ascii: "\""):
                guard let (text, end) = readString(bytes, from: index) else { return nil }
                index = end
                if case .object(_, true)? = frames.last {
                    guard keys[keys.count - 1].insert(text).inserted else {
                        return path(of: Array(frames.dropLast())).appending(.key(text))
                    }
                    frames[frames.count - 1] = .object(current: text, expectingKey: false)
                }
            default:
                // Whitespace, ':', numbers, true, false, null: nothing to track.
                index += 1
            }
        }
        return nil
    }

    /// Reads the string starting at the quote at `start`, decoding escapes so that
    /// `"a"` and `"\u0061"` compare equal. Returns the text and the index after the
    /// closing quote, or nil if the string is malformed.
    private static func readString(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (String, Int)? {
        var index = start + 1
        var scalars = String.UnicodeScalarView()
        var pendingHighSurrogate: UInt32?
        var raw: [UInt8] = []
        func flushRaw() {
            if !raw.isEmpty {
                scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
                raw.removeAll(keepingCapacity: true)
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                flushRaw()
                return (String(scalars), index + 1)
            }
            if byte != UInt8(ascii: "\\") {
                raw.append(byte)
                index += 1
                continue
            }
            flushRaw()
            guard index + 1 < bytes.count else { return nil }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                guard index + 4 <= bytes.count,
                    let value = UInt32(
                        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + 4)]), as: UTF8.self),
                        radix: 16)
                else { return nil }
                index += 4
                if (0xD800...0xDBFF).contains(value) {
                    pendingHighSurrogate = value
                    continue
                }
                if (0xDC00...0xDFFF).contains(value), let high = pendingHighSurrogate {
                    pendingHighSurrogate = nil
                    guard let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00)) else {
                        return nil
                    }
                    scalars.append(scalar)
                    continue
                }
                guard let scalar = Unicode.Scalar(value) else { return nil }
                scalars.append(scalar)
            default:
                return nil
            }
            pendingHighSurrogate = nil
        }
        return nil
    }
}
