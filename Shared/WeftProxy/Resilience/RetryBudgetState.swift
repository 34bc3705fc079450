public import NIOCore
public import WeftProtocol

/// A service's retry budget on one event loop (Linkerd's model): over the last
/// `window`, retries may number at most `min_retries_per_second × window` plus
/// `percent` of the requests sent, so retries add a bounded share to live traffic
/// and can never multiply an outage. Requests and retries are counted in ten
/// buckets that slide with the clock.
public struct RetryBudgetState {
    public let budget: RetryBudget
    private var requests: [Int]
    private var retries: [Int]
    /// Which time slice each bucket holds, so a stale bucket is emptied on reuse.
    private var epochs: [Int64]
    private let slice: Int64

    static let buckets = 10

    public init(_ budget: RetryBudget) {
        self.budget = budget
        requests = Array(repeating: 0, count: Self.buckets)
        retries = Array(repeating: 0, count: Self.buckets)
        epochs = Array(repeating: -1, count: Self.buckets)
        slice = max(1, budget.window.milliseconds * 1_000_000 / Int64(Self.buckets))
    }

    private mutating func bucket(_ now: NIODeadline) -> Int {
        let epoch = Int64(now.uptimeNanoseconds) / slice
        let index = Int(epoch % Int64(Self.buckets))
        if epochs[index] != epoch {
            epochs[index] = epoch
            requests[index] = 0
            retries[index] = 0
        }
        return index
    }

    private func totals(_ now: NIODeadline) -> (requests: Int, retries: Int) {
        let epoch = Int64(now.uptimeNanoseconds) / slice
        var sent = 0
        var retried = 0
        for index in 0..<Self.buckets where epoch - epochs[index] < Int64(Self.buckets) && epochs[index] >= 0 {
            sent += requests[index]
            retried += retries[index]
        }
        return (sent, retried)
    }

    /// A first attempt was sent.
    public mutating func recordRequest(now: NIODeadline) {
        requests[bucket(now)] += 1
    }

    /// Takes one retry from the budget when it has one.
    public mutating func withdraw(now: NIODeadline) -> Bool {
        let (sent, retried) = totals(now)
        let windowSeconds = Double(budget.window.milliseconds) / 1000
        let allowed = Double(budget.minimumRetriesPerSecond) * windowSeconds + budget.percent / 100 * Double(sent)
        guard Double(retried) + 1 <= allowed else { return false }
        retries[bucket(now)] += 1
        return true
    }
}
