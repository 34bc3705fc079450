public import NIOCore

/// Something with a deadline in a loop's `LoopTimers`.
public protocol DeadlineOwner: AnyObject {
    /// Where the owner sits in the heap, -1 when it is not in it. Kept by
    /// `LoopTimers`; start it at -1.
    var timerIndex: Int { get set }
    /// Its deadline came: called once, on the loop, after it left the heap.
    func deadlinePassed()
}

/// The request deadlines of one event loop, behind one NIO timer. A deadline per
/// request through NIO's own `scheduleTask` cost a closure, a task and a promise
/// each, ~10 % of a sidecar's CPU under load (perf, mesh.sh); a binary heap of
/// them still cost ~3 %, because requests finish oldest first and each removal
/// near the root sifted the whole depth.
///
/// So: an unordered array with swap-removal (adding and removing cost O(1) and
/// allocate nothing), and one NIO timer set at a lower bound of the earliest
/// deadline. When it fires, one pass fires what has expired and finds the next
/// earliest. With requests that finish in milliseconds under second-long
/// deadlines, the owner of the earliest deadline is almost always gone by then:
/// the timer fires about once per deadline length, and each pass walks only the
/// requests in flight.
///
/// The array holds its owners unowned: an owner must `remove` itself before it
/// goes away (owners do when they finish, and in `deinit` as a safety net).
/// Use on the loop only.
public final class LoopTimers {
    private struct Entry {
        var deadline: NIODeadline
        unowned(unsafe) var owner: any DeadlineOwner
    }

    private let eventLoop: any EventLoop
    private var entries: [Entry] = []
    /// When the NIO timer is set to fire next, if it is: never later than the
    /// earliest deadline held.
    private var armed: NIODeadline?
    private var expired: [any DeadlineOwner] = []

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public var count: Int { entries.count }

    /// Calls `owner.deadlinePassed()` at `deadline`, unless removed first. An
    /// owner already held is moved to the new deadline.
    public func add(_ owner: any DeadlineOwner, at deadline: NIODeadline) {
        let index = owner.timerIndex
        if index >= 0, index < entries.count, entries[index].owner === owner {
            entries[index].deadline = deadline
        } else {
            entries.append(Entry(deadline: deadline, owner: owner))
            owner.timerIndex = entries.count - 1
        }
        if armed.map({ deadline < $0 }) ?? true { arm(deadline) }
    }

    /// Takes `owner` out (nothing happens if it is not held).
    public func remove(_ owner: any DeadlineOwner) {
        let index = owner.timerIndex
        guard index >= 0, index < entries.count, entries[index].owner === owner else { return }
        owner.timerIndex = -1
        let last = entries.count - 1
        if index != last {
            entries[index] = entries[last]
            entries[index].owner.timerIndex = index
        }
        entries.removeLast()
    }

    private func arm(_ deadline: NIODeadline) {
        armed = deadline
        eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in fire(deadline) }
    }

    private func fire(_ scheduled: NIODeadline) {
        if armed == scheduled { armed = nil }
        // The loop's clock (the real one, or a test's).
        let now = eventLoop.now
        var index = 0
        var earliest: NIODeadline?
        while index < entries.count {
            let entry = entries[index]
            if entry.deadline <= now {
                expired.append(entry.owner)
                remove(entry.owner)  // the last entry moves here: look at this index again
            } else {
                if earliest.map({ entry.deadline < $0 }) ?? true { earliest = entry.deadline }
                index += 1
            }
        }
        // Called after the pass: an owner may add or remove others.
        let due = expired
        expired.removeAll(keepingCapacity: true)
        for owner in due { owner.deadlinePassed() }
        if let earliest, armed.map({ earliest < $0 }) ?? true { arm(earliest) }
    }
}

@available(*, unavailable)
extension LoopTimers: Sendable {}
