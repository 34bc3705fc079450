// weft-embed-text: writes a Swift file declaring `enum <Name> { static let
// document: String }` with a text file's content, so a binary carries the
// document without data files beside it. Run at build time by the
// EmbedOpenAPI plugin; the text file stays the one source.
//
//   weft-embed-text <input> <output.swift> <enum name>
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: weft-embed-text <input> <output.swift> <enum name>\n".utf8))
    exit(64)
}
let text: String
do {
    text = try String(contentsOfFile: arguments[1], encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("weft-embed-text: cannot read \(arguments[1]): \(error)\n".utf8))
    exit(66)
}
// A raw string whose delimiter appears nowhere in the text: one more `#` than
// the longest run following a quote.
var longest = 0
var run = -1
for character in text {
    if character == "\"" {
        run = 0
    } else if character == "#" && run >= 0 {
        run += 1
        longest = max(longest, run)
    } else {
        run = -1
    }
}
let hashes = String(repeating: "#", count: longest + 1)
let name = arguments[3]
let source = """
    // Generated at build time by weft-embed-text from \((arguments[1] as NSString).lastPathComponent); edit that file.
    enum \(name) {
        static let document = \(hashes)\"\"\"
    \(text.hasSuffix("\n") ? String(text.dropLast()) : text)
    \"\"\"\(hashes)
    }

    """
do {
    try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("weft-embed-text: cannot write \(arguments[2]): \(error)\n".utf8))
    exit(73)
}
