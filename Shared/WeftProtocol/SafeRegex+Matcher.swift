extension SafeRegex {
    /// Whether the whole of `text` matches.
    public func matches(_ text: some StringProtocol) -> Bool {
        var text = String(text)
        return text.withUTF8 { matches(utf8: $0) }
    }

    /// Whether the whole of `bytes` matches. Runs the Pike VM: all threads advance
    /// in lock-step over the input, each instruction at most once per position, so
    /// the cost is O(program × input) whatever the pattern.
    public func matches(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var current = ThreadList(capacity: program.count)
        var next = ThreadList(capacity: program.count)
        var stack: [Int] = []
        stack.reserveCapacity(16)
        addThread(0, at: 0, length: bytes.count, to: &current, stack: &stack)
        for position in 0..<bytes.count {
            if current.isEmpty { return false }
            let byte = bytes[position]
            for pc in current.members {
                let word = program[pc]
                if word >> 29 == Compact.byte, sets[Int(word & Compact.operandMask)].contains(byte) {
                    addThread(pc + 1, at: position + 1, length: bytes.count, to: &next, stack: &stack)
                }
            }
            swap(&current, &next)
            next.removeAll()
        }
        return current.members.contains { program[$0] >> 29 == Compact.match }
    }

    /// Adds `pc` and everything reachable from it without consuming input.
    private func addThread(_ pc: Int, at position: Int, length: Int, to list: inout ThreadList, stack: inout [Int]) {
        stack.append(pc)
        while let pc = stack.popLast() {
            guard list.insert(pc) else { continue }
            let word = program[pc]
            let operand = Int(word & Compact.operandMask)
            switch word >> 29 {
            case Compact.jump:
                stack.append(operand)
            case Compact.split:
                stack.append(operand)
                stack.append(pc + 1)
            case Compact.assertStart:
                if position == 0 { stack.append(pc + 1) }
            case Compact.assertEnd:
                if position == length { stack.append(pc + 1) }
            default:
                break  // byte, match
            }
        }
    }

    /// A sparse set of program counters: O(1) insert, membership and clear.
    private struct ThreadList {
        private var dense: [Int]
        private var sparse: [Int]
        private var count = 0

        init(capacity: Int) {
            dense = Array(repeating: 0, count: capacity)
            sparse = Array(repeating: 0, count: capacity)
        }

        var isEmpty: Bool { count == 0 }
        var members: ArraySlice<Int> { dense[0..<count] }

        /// Inserts `pc`; false if it was already there.
        mutating func insert(_ pc: Int) -> Bool {
            let slot = sparse[pc]
            if slot < count && dense[slot] == pc { return false }
            sparse[pc] = count
            dense[count] = pc
            count += 1
            return true
        }

        mutating func removeAll() { count = 0 }
    }
}
