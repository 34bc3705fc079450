/// PEM text as it travels in JSON (a CSR, a certificate, a chain, a root). Checked
/// here for shape only: one or more `-----BEGIN <label>-----` blocks of the
/// expected label holding base64, at most 16 KiB. The cryptography (does the
/// signature verify, is the key acceptable) is WeftTLS's job; this keeps garbage
/// from ever reaching OpenSSL's parser and gives a precise error first.
public struct PEMDocument: Hashable, Sendable, CustomStringConvertible {
    public let text: String
    public let label: String
    public let blockCount: Int

    public init(_ text: String, label: String, maximumBlocks: Int = 1) throws(ProtocolError) {
        guard text.utf8.count <= ProtocolLimits.pemLength else {
            throw ProtocolError("PEM is \(text.utf8.count) bytes; the limit is \(ProtocolLimits.pemLength)")
        }
        // Bytes, not Characters: this runs twice per certificate signed, and
        // Unicode-aware splitting cost more than the rest of the check.
        let begin = Array("-----BEGIN \(label)-----".utf8)
        let end = Array("-----END \(label)-----".utf8)
        let beginPrefix = Array("-----BEGIN ".utf8)
        var blocks = 0
        var inBlock = false
        var bodyLength = 0
        for rawLine in text.utf8.split(whereSeparator: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            var line = rawLine[...]
            while let first = line.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                line = line.dropFirst()
            }
            while let last = line.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
                line = line.dropLast()
            }
            if line.isEmpty { continue }
            if !inBlock {
                guard line.elementsEqual(begin) else {
                    if line.starts(with: beginPrefix) {
                        let found = String(decoding: line.dropFirst(11).dropLast(5), as: UTF8.self)
                        throw ProtocolError("expected PEM blocks labelled \(label), found \(found.prefix(60))")
                    }
                    throw ProtocolError("expected \(String(decoding: begin, as: UTF8.self))")
                }
                inBlock = true
                bodyLength = 0
            } else if line.elementsEqual(end) {
                guard bodyLength > 0 else { throw ProtocolError("PEM block \(blocks + 1) is empty") }
                inBlock = false
                blocks += 1
            } else {
                guard line.allSatisfy(Self.isBase64Byte) else {
                    throw ProtocolError("PEM block \(blocks + 1) holds characters that are not base64")
                }
                bodyLength += line.count
            }
        }
        let beginText = "-----BEGIN \(label)-----"
        let endText = "-----END \(label)-----"
        guard !inBlock else { throw ProtocolError("PEM block \(blocks + 1) is missing \(endText)") }
        guard blocks > 0 else { throw ProtocolError("expected \(beginText)") }
        guard blocks <= maximumBlocks else {
            throw ProtocolError("holds \(blocks) PEM blocks; at most \(maximumBlocks) allowed here")
        }
        self.text = text
        self.label = label
        self.blockCount = blocks
    }

    public var description: String { text }

    private static func isBase64Byte(_ byte: UInt8) -> Bool {
        DNSLabel.isAlphanumeric(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
            || byte == UInt8(ascii: "=")
    }

    static func decode(_ object: JSONObject, _ key: String, label: String, maximumBlocks: Int = 1) throws -> PEMDocument
    {
        let text: String = try object.required(key)
        do {
            return try PEMDocument(text, label: label, maximumBlocks: maximumBlocks)
        } catch {
            throw object.error(key, error.reason)
        }
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
