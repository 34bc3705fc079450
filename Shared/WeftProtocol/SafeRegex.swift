/// A regular expression that runs in time linear in its input, whatever the
/// pattern: route rules take regexes from operators and match them against
/// request headers from anyone, so a backtracking engine (`(a+)+$` against
/// `aaaa…!`) would let one request pin a proxy core. Envoy requires RE2 for the
/// same reason; this is a small RE2-style engine in Swift.
///
/// How it works: the pattern is parsed (`SafeRegex+Parser.swift`) into a tree,
/// compiled into a Thompson NFA program, and run as a Pike VM that advances every
/// live thread one byte at a time (`SafeRegex+Matcher.swift`). Cost is
/// O(program size × input length) with no backtracking; the program size is capped
/// at `ProtocolLimits.regexProgramSize` instructions.
///
/// Syntax (RE2's, minus captures and flags): literals; `.` (any byte but `\n`);
/// classes `[a-z0-9_]`, `[^...]`; escapes `\d \D \w \W \s \S \t \n \r \f \v` and
/// escaped metacharacters; anchors `^ $`; groups `( )`, `(?: )`; alternation `|`;
/// quantifiers `* + ? {n} {n,} {n,m}` (n, m ≤ 1000), each optionally lazy (`*?`),
/// which does not change a yes/no match. Not supported, with a precise error:
/// backreferences and look-around (they cannot run in linear time), flags
/// (`(?i)`), named groups, and non-ASCII inside classes.
///
/// Matching is against the **whole** value, as Envoy's `safe_regex` does: `v2`
/// does not match `v22`; write `v2.*` for a prefix.
public struct SafeRegex: StringValidated, Hashable, Sendable {
    public let pattern: String
    /// The compiled program, four bytes an instruction (see `Compact`), and the
    /// distinct byte sets its `byte` instructions name: `.{1000}` is a thousand
    /// words and one set, not a thousand 32-byte sets. Route tables hold tens of
    /// thousands of patterns, so this is what bounds a table's memory.
    let program: [UInt32]
    let sets: [ByteSet]

    /// Instructions in the compiled program: what a pattern costs to keep and
    /// to run. Route tables are bounded by the sum of these
    /// (`ProtocolLimits.regexProgramSizePerTable`).
    public var programSize: Int { program.count }

    public init(validating pattern: String) throws(ProtocolError) {
        guard pattern.utf8.count <= ProtocolLimits.regexLength else {
            throw ProtocolError("invalid pattern: longer than \(ProtocolLimits.regexLength) bytes")
        }
        var parser = Parser(Array(pattern.utf8))
        let tree: Node
        do {
            tree = try parser.parse()
        } catch {
            throw ProtocolError("invalid pattern: \(error.reason)")
        }
        var compiler = Compiler()
        do {
            try compiler.emit(tree)
        } catch {
            throw ProtocolError("invalid pattern: \(error.reason)")
        }
        compiler.program.append(.match)
        self.pattern = pattern
        (self.program, self.sets) = Compact.encode(compiler.program)
    }

    public var description: String { pattern }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    /// One step of the compiled program.
    enum Instruction: Sendable {
        /// Consume one byte in the set, go to the next instruction.
        case byte(ByteSet)
        /// Continue at both targets (the NFA's epsilon fork).
        case split(Int, Int)
        case jump(Int)
        case assertStart
        case assertEnd
        case match
    }

    /// The program as the matcher runs it: an opcode in the top three bits of a
    /// word and an operand below. A `split` always continues at the next
    /// instruction and at its operand (the compiler emits no other kind).
    enum Compact {
        static let byte: UInt32 = 0, split: UInt32 = 1, jump: UInt32 = 2, assertStart: UInt32 = 3,
            assertEnd: UInt32 = 4, match: UInt32 = 5
        static let operandMask: UInt32 = 0x1FFF_FFFF

        static func encode(_ instructions: [Instruction]) -> ([UInt32], [ByteSet]) {
            var sets: [ByteSet] = []
            var indexes: [ByteSet: UInt32] = [:]
            let words = instructions.enumerated().map { pc, instruction -> UInt32 in
                switch instruction {
                case .byte(let set):
                    let index =
                        indexes[set]
                        ?? {
                            sets.append(set)
                            indexes[set] = UInt32(sets.count - 1)
                            return UInt32(sets.count - 1)
                        }()
                    return byte << 29 | index
                case .split(let first, let second):
                    precondition(first == pc + 1, "the compiler emits splits that continue at the next instruction")
                    return split << 29 | UInt32(second)
                case .jump(let target): return jump << 29 | UInt32(target)
                case .assertStart: return assertStart << 29
                case .assertEnd: return assertEnd << 29
                case .match: return match << 29
                }
            }
            return (words, sets)
        }
    }

    /// A set of bytes as a 256-bit map.
    struct ByteSet: Hashable, Sendable {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
                && lhs.words.3 == rhs.words.3
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
            hasher.combine(words.2)
            hasher.combine(words.3)
        }

        @inline(__always)
        func contains(_ byte: UInt8) -> Bool {
            let bit = UInt64(1) << UInt64(byte & 63)
            switch byte >> 6 {
            case 0: return words.0 & bit != 0
            case 1: return words.1 & bit != 0
            case 2: return words.2 & bit != 0
            default: return words.3 & bit != 0
            }
        }

        mutating func insert(_ byte: UInt8) {
            let bit = UInt64(1) << UInt64(byte & 63)
            switch byte >> 6 {
            case 0: words.0 |= bit
            case 1: words.1 |= bit
            case 2: words.2 |= bit
            default: words.3 |= bit
            }
        }

        mutating func insert(_ range: ClosedRange<UInt8>) {
            for byte in range { insert(byte) }
        }

        mutating func formUnion(_ other: ByteSet) {
            words = (words.0 | other.words.0, words.1 | other.words.1, words.2 | other.words.2, words.3 | other.words.3)
        }

        func inverted() -> ByteSet {
            var set = ByteSet()
            set.words = (~words.0, ~words.1, ~words.2, ~words.3)
            return set
        }

        static func single(_ byte: UInt8) -> ByteSet {
            var set = ByteSet()
            set.insert(byte)
            return set
        }
    }

    /// The parsed pattern.
    indirect enum Node {
        case empty
        case bytes(ByteSet)
        case sequence([Node])
        case alternation([Node])
        case repetition(Node, min: Int, max: Int?)
        case startAnchor
        case endAnchor
    }

    struct Failure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
