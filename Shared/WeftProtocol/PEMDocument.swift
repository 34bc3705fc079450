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
        let lines = text.split(
            omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        )
        .map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        var blocks = 0
        var inBlock = false
        var bodyLength = 0
        for line in lines {
            if !inBlock {
                guard line == begin else {
                    if line.hasPrefix("-----BEGIN ") {
                        throw ProtocolError(
                            "expected PEM blocks labelled \(label), found \(line.dropFirst(11).dropLast(5))")
                    }
                    throw ProtocolError("expected \(begin)")
                }
                inBlock = true
                bodyLength = 0
            } else if line == end {
                guard bodyLength > 0 else { throw ProtocolError("PEM block \(blocks + 1) is empty") }
                inBlock = false
                blocks += 1
            } else {
                guard line.utf8.allSatisfy(Self.isBase64Byte) else {
                    throw ProtocolError("PEM block \(blocks + 1) holds characters that are not base64")
                }
                bodyLength += line.utf8.count
            }
        }
        guard !inBlock else { throw ProtocolError("PEM block \(blocks + 1) is missing \(end)") }
        guard blocks > 0 else { throw ProtocolError("expected \(begin)") }
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
