extension SafeRegex {
    /// Recursive-descent parser over the pattern's UTF-8 bytes. Nesting is capped so
    /// that a pattern of 1,000 `(` cannot exhaust the stack.
    struct Parser {
        private let bytes: [UInt8]
        private var index = 0
        private var depth = 0
        private static let maximumDepth = 64

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func parse() throws(Failure) -> Node {
            let node = try parseAlternation()
            if index < bytes.count {
                // Only an unmatched `)` can stop the top-level alternation early.
                throw Failure("unmatched ')' at offset \(index)")
            }
            return node
        }

        private var atEnd: Bool { index >= bytes.count }
        private func peek() -> UInt8? { atEnd ? nil : bytes[index] }

        private mutating func parseAlternation() throws(Failure) -> Node {
            var branches = [try parseSequence()]
            while peek() == UInt8(ascii: "|") {
                index += 1
                branches.append(try parseSequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        private mutating func parseSequence() throws(Failure) -> Node {
            var items: [Node] = []
            while let byte = peek(), byte != UInt8(ascii: "|"), byte != UInt8(ascii: ")") {
                var atom = try parseAtom()
                atom = try parseQuantifiers(on: atom)
                items.append(atom)
            }
            if items.isEmpty { return .empty }
            return items.count == 1 ? items[0] : .sequence(items)
        }

        private mutating func parseQuantifiers(on atom: Node) throws(Failure) -> Node {
            guard let byte = peek() else { return atom }
            let start = index
            var node: Node
            switch byte {
            case UInt8(ascii: "*"):
                index += 1
                node = .repetition(atom, min: 0, max: nil)
            case UInt8(ascii: "+"):
                index += 1
                node = .repetition(atom, min: 1, max: nil)
            case UInt8(ascii: "?"):
                index += 1
                node = .repetition(atom, min: 0, max: 1)
            case UInt8(ascii: "{"):
                guard let (min, max) = try parseCountedRepetition() else { return atom }
                node = .repetition(atom, min: min, max: max)
            default:
                return atom
            }
            if case .startAnchor = atom { throw Failure("nothing to repeat at offset \(start)") }
            if case .endAnchor = atom { throw Failure("nothing to repeat at offset \(start)") }
            // A lazy marker changes which match a backtracker finds first, not whether
            // one exists; accept it and ignore it.
            if peek() == UInt8(ascii: "?") { index += 1 }
            if let next = peek(), [UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?")].contains(next) {
                throw Failure("bad repetition operator at offset \(index): a quantifier cannot follow a quantifier")
            }
            if peek() == UInt8(ascii: "{"), case .some = try lookaheadCountedRepetition() {
                throw Failure("bad repetition operator at offset \(index): a quantifier cannot follow a quantifier")
            }
            return node
        }

        /// Parses `{n}`, `{n,}` or `{n,m}`. A `{` that does not start one of those is
        /// a literal, as in RE2 (`a{` matches "a{").
        private mutating func parseCountedRepetition() throws(Failure) -> (Int, Int?)? {
            guard let (result, end) = try lookaheadCountedRepetition() else { return nil }
            index = end
            return result
        }

        private func lookaheadCountedRepetition() throws(Failure) -> ((Int, Int?), Int)? {
            var cursor = index + 1
            func number() -> Int? {
                let start = cursor
                var value = 0
                while cursor < bytes.count, SemanticVersion.isDigit(bytes[cursor]) {
                    value = min(value * 10 + Int(bytes[cursor] - UInt8(ascii: "0")), 1_000_000)
                    cursor += 1
                }
                return cursor > start ? value : nil
            }
            guard let minimum = number() else { return nil }
            var maximum: Int? = minimum
            if cursor < bytes.count, bytes[cursor] == UInt8(ascii: ",") {
                cursor += 1
                maximum = number()
            }
            guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "}") else { return nil }
            cursor += 1
            let limit = ProtocolLimits.regexRepeatCount
            if minimum > limit || (maximum ?? 0) > limit {
                throw Failure("repetition count above \(limit) at offset \(index)")
            }
            if let maximum, maximum < minimum {
                throw Failure("repetition {\(minimum),\(maximum)} has its maximum below its minimum")
            }
            return ((minimum, maximum), cursor)
        }

        private mutating func parseAtom() throws(Failure) -> Node {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "("):
                let open = index
                index += 1
                if peek() == UInt8(ascii: "?") {
                    guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ":") else {
                        throw Failure(
                            "unsupported group syntax '(?' at offset \(open): flags, named groups and look-around are not supported"
                        )
                    }
                    index += 2
                }
                depth += 1
                guard depth <= Self.maximumDepth else {
                    throw Failure("groups nested deeper than \(Self.maximumDepth)")
                }
                let inner = try parseAlternation()
                depth -= 1
                guard peek() == UInt8(ascii: ")") else {
                    throw Failure("missing ')' for the group opened at offset \(open)")
                }
                index += 1
                return inner
            case UInt8(ascii: "["):
                return .bytes(try parseClass())
            case UInt8(ascii: "."):
                index += 1
                return .bytes(ByteSet.single(UInt8(ascii: "\n")).inverted())
            case UInt8(ascii: "^"):
                index += 1
                return .startAnchor
            case UInt8(ascii: "$"):
                index += 1
                return .endAnchor
            case UInt8(ascii: "\\"):
                return .bytes(try parseEscape(inClass: false))
            case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
                throw Failure("nothing to repeat at offset \(index)")
            default:
                return try parseLiteral()
            }
        }

        /// One character, which for non-ASCII text is a run of UTF-8 bytes matched
        /// as a unit (so `é+` repeats the whole character).
        private mutating func parseLiteral() throws(Failure) -> Node {
            let lead = bytes[index]
            let length: Int
            switch lead {
            case 0..<0x80: length = 1
            case 0xC2..<0xE0: length = 2
            case 0xE0..<0xF0: length = 3
            case 0xF0..<0xF5: length = 4
            default: throw Failure("invalid UTF-8 at offset \(index)")
            }
            guard index + length <= bytes.count else { throw Failure("invalid UTF-8 at offset \(index)") }
            let run = bytes[index..<(index + length)]
            index += length
            if length == 1 { return .bytes(.single(lead)) }
            return .sequence(run.map { .bytes(.single($0)) })
        }

        private mutating func parseEscape(inClass: Bool) throws(Failure) -> ByteSet {
            let start = index
            index += 1
            guard let byte = peek() else { throw Failure("trailing backslash at offset \(start)") }
            index += 1
            var set = ByteSet()
            switch byte {
            case UInt8(ascii: "d"): set.insert(UInt8(ascii: "0")...UInt8(ascii: "9"))
            case UInt8(ascii: "D"):
                set.insert(UInt8(ascii: "0")...UInt8(ascii: "9"))
                set = set.inverted()
            case UInt8(ascii: "w"), UInt8(ascii: "W"):
                set.insert(UInt8(ascii: "a")...UInt8(ascii: "z"))
                set.insert(UInt8(ascii: "A")...UInt8(ascii: "Z"))
                set.insert(UInt8(ascii: "0")...UInt8(ascii: "9"))
                set.insert(UInt8(ascii: "_"))
                if byte == UInt8(ascii: "W") { set = set.inverted() }
            case UInt8(ascii: "s"), UInt8(ascii: "S"):
                for space in [9, 10, 11, 12, 13, 32] as [UInt8] { set.insert(space) }
                if byte == UInt8(ascii: "S") { set = set.inverted() }
            case UInt8(ascii: "t"): set.insert(9)
            case UInt8(ascii: "n"): set.insert(10)
            case UInt8(ascii: "v"): set.insert(11)
            case UInt8(ascii: "f"): set.insert(12)
            case UInt8(ascii: "r"): set.insert(13)
            case UInt8(ascii: "1")...UInt8(ascii: "9"):
                throw Failure(
                    "backreference \\\(Character(Unicode.Scalar(byte))) at offset \(start) is not supported: it cannot run in linear time"
                )
            default:
                // Any escaped punctuation stands for itself; escaped letters and digits
                // are reserved, so a typo (`\x`, `\b`) fails rather than surprises.
                guard byte < 0x80, !DNSLabel.isAlphanumeric(byte) else {
                    throw Failure("unsupported escape \\\(Character(Unicode.Scalar(byte))) at offset \(start)")
                }
                set.insert(byte)
            }
            return set
        }

        private mutating func parseClass() throws(Failure) -> ByteSet {
            let open = index
            index += 1
            var negated = false
            if peek() == UInt8(ascii: "^") {
                negated = true
                index += 1
            }
            var set = ByteSet()
            var first = true
            while true {
                guard let byte = peek() else { throw Failure("missing ']' for the class opened at offset \(open)") }
                if byte == UInt8(ascii: "]") && !first {
                    index += 1
                    break
                }
                first = false
                // A class member: an escape (possibly a whole set such as \d) or a byte,
                // optionally the start of a range a-z.
                let low: UInt8
                if byte == UInt8(ascii: "\\") {
                    let escaped = try parseEscape(inClass: true)
                    let members = (0...255).filter { escaped.contains(UInt8($0)) }
                    if members.count != 1 {
                        set.formUnion(escaped)
                        continue
                    }
                    low = UInt8(members[0])
                } else {
                    guard byte < 0x80 else {
                        throw Failure("non-ASCII character in a class at offset \(index) is not supported")
                    }
                    if byte == UInt8(ascii: "["), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ":") {
                        throw Failure("POSIX classes like [:alpha:] are not supported; use \\w, \\d or \\s")
                    }
                    low = byte
                    index += 1
                }
                if peek() == UInt8(ascii: "-"), index + 1 < bytes.count, bytes[index + 1] != UInt8(ascii: "]") {
                    index += 1
                    var high = bytes[index]
                    if high == UInt8(ascii: "\\") {
                        let escaped = try parseEscape(inClass: true)
                        let members = (0...255).filter { escaped.contains(UInt8($0)) }
                        guard members.count == 1 else { throw Failure("a class range cannot end in a set like \\d") }
                        high = UInt8(members[0])
                    } else {
                        guard high < 0x80 else {
                            throw Failure("non-ASCII character in a class at offset \(index) is not supported")
                        }
                        index += 1
                    }
                    guard low <= high else {
                        throw Failure(
                            "class range \(Character(Unicode.Scalar(low)))-\(Character(Unicode.Scalar(high))) is out of order"
                        )
                    }
                    set.insert(low...high)
                } else {
                    set.insert(low)
                }
            }
            return negated ? set.inverted() : set
        }
    }

    /// Compiles the tree into a Thompson NFA program, refusing programs past the cap.
    struct Compiler {
        var program: [Instruction] = []

        private mutating func append(_ instruction: Instruction) throws(Failure) -> Int {
            guard program.count < ProtocolLimits.regexProgramSize else {
                throw Failure(
                    "pattern too complex: it compiles to more than \(ProtocolLimits.regexProgramSize) instructions")
            }
            program.append(instruction)
            return program.count - 1
        }

        mutating func emit(_ node: Node) throws(Failure) {
            switch node {
            case .empty:
                break
            case .bytes(let set):
                _ = try append(.byte(set))
            case .startAnchor:
                _ = try append(.assertStart)
            case .endAnchor:
                _ = try append(.assertEnd)
            case .sequence(let items):
                for item in items { try emit(item) }
            case .alternation(let branches):
                // split L1, next; L1: branch; jump end; next: split L2, … ; last branch
                var jumpsToEnd: [Int] = []
                for (position, branch) in branches.enumerated() {
                    if position < branches.count - 1 {
                        let split = try append(.split(0, 0))
                        try emit(branch)
                        jumpsToEnd.append(try append(.jump(0)))
                        program[split] = .split(split + 1, program.count)
                    } else {
                        try emit(branch)
                    }
                }
                for jump in jumpsToEnd { program[jump] = .jump(program.count) }
            case .repetition(let inner, let minimum, let maximum):
                for _ in 0..<minimum { try emit(inner) }
                if let maximum {
                    // Optional copies: each may be skipped, which skips the rest too.
                    var skips: [Int] = []
                    for _ in minimum..<maximum {
                        skips.append(try append(.split(0, 0)))
                        try emit(inner)
                    }
                    for skip in skips { program[skip] = .split(skip + 1, program.count) }
                } else {
                    // loop: split body, exit; body; jump loop
                    let loop = try append(.split(0, 0))
                    try emit(inner)
                    _ = try append(.jump(loop))
                    program[loop] = .split(loop + 1, program.count)
                }
            }
        }
    }
}
