public import WeftHTTP2
public import WeftProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// A gateway's route table compiled for one snapshot: each rule's destinations
/// resolved to the upstreams (narrowed to their label subsets) they reach, hosts
/// lowercased, cumulative weights laid out. Built once per snapshot, never per
/// request.
///
/// Precedence is the table's order: the first rule whose every condition holds
/// takes the request (as the registry stores it, as `weftctl` shows it). A
/// request no rule takes gets 404.
public struct GatewayRoutes: Sendable {
    /// A class: the table is walked once per request, and a struct of this size
    /// would be copied (every field retained) for each rule tried.
    public final class Route: Sendable {
        public let rule: RouteRule
        public let destinations: [Destination]
        /// Each destination's upper bucket bound (of 10,000), in order: a bucket
        /// below `bounds[i]` and not below `bounds[i - 1]` goes to destination `i`.
        let bounds: [Int]
        /// `rule.sticky?.header`, as a header name to look up.
        let stickyHeader: String?
        /// `rule.match`, compiled to byte comparisons.
        let match: CompiledMatch

        init(
            rule: RouteRule, destinations: [Destination], bounds: [Int], stickyHeader: String?,
            match: CompiledMatch
        ) {
            self.rule = rule
            self.destinations = destinations
            self.bounds = bounds
            self.stickyHeader = stickyHeader
            self.match = match
        }
    }

    /// One destination of a rule: the upstream narrowed to the instances that
    /// carry all of `subset`'s labels.
    public struct Destination: Sendable {
        public let upstream: ProxySnapshot.Upstream
        public let subset: Labels
        public let weight: Int
    }

    public let routes: [Route]
    /// Which rules a path can reach: see `PathIndex`.
    private let index: PathIndex
    /// Distinct header names the rules read: each request looks each up at most
    /// once (`HeaderCache`), however many rules read it.
    private let headerSlots: Int
    /// The rules a request's exact-value and version headers leave possible
    /// (see `RuleFilter`); the path index and this narrow the walk together.
    private let filter: RuleFilter?

    public static let empty = GatewayRoutes(routes: [])

    private init(routes: [Route]) {
        self.routes = routes
        self.index = PathIndex(routes.map(\.rule.match.path))
        self.headerSlots = 0
        self.filter = nil
    }

    /// Compiles `table` against the snapshot's upstreams. A destination whose
    /// service is not among them (the registry lists every service a gateway's
    /// routes reach, so only a hand-written file can do this) gets no endpoints:
    /// its share of traffic is answered 503, never sent elsewhere.
    init(_ table: RouteTable, upstreams: [ServiceReference: ProxySnapshot.Upstream], trustDomain: String) {
        var slots: [String: Int] = [:]
        routes = table.routes.map { rule in
            var destinations: [Destination] = []
            var bounds: [Int] = []
            var total = 0
            for destination in rule.destinations {
                let reference = destination.reference
                let whole =
                    upstreams[reference]
                    ?? ProxySnapshot.Upstream(
                        reference: reference, protocolKind: .http, trustDomain: trustDomain, endpoints: [],
                        policy: TrafficPolicy(service: reference.service, namespace: reference.namespace))
                let upstream = destination.subset.isEmpty ? whole : whole.narrowed(to: destination.subset)
                destinations.append(
                    Destination(upstream: upstream, subset: destination.subset, weight: destination.weight))
                total += destination.weight * 100
                bounds.append(total)
            }
            return Route(
                rule: rule, destinations: destinations, bounds: bounds, stickyHeader: rule.sticky?.header.rawValue,
                match: CompiledMatch(rule.match, slots: &slots))
        }
        index = PathIndex(table.routes.map(\.match.path))
        headerSlots = slots.count
        let filter = RuleFilter(table.routes, slots: slots)
        self.filter = filter.isEmpty ? nil : filter
    }

    /// The headers the table is filtered by before rules are tried (see
    /// `RuleFilter`): the exact-value one, then the version one.
    public var filteredHeaders: [String] { [filter?.exact?.name, filter?.version?.name].compactMap { $0 } }

    /// Below this many rules left by the header filter, they are tried
    /// directly rather than through the path index.
    static let directWalkLimit = 32

    /// The first rule that takes `request`, or nil. Only the rules whose path
    /// can match are tried (the index), in table order, so precedence is the
    /// table's as documented.
    public func match(_ request: GatewayRequest) -> Route? {
        var found: Route?
        var cache = HeaderCache(slots: headerSlots)
        let possible = filter?.candidates(request, &cache)
        // Few rules left by the headers: try just those, in table order (each
        // is matched whole, its path included). Otherwise walk the path index,
        // passing over the rules the headers ruled out.
        if let possible, possible.count <= Self.directWalkLimit {
            possible.visit { position in
                guard routes[position].match.firstMismatch(request, &cache) == nil else { return false }
                found = routes[position]
                return true
            }
            return found
        }
        index.candidates(for: request.path) { position in
            if let possible, !possible.contains(position) { return false }
            guard routes[position].match.firstMismatch(request, &cache) == nil else { return false }
            found = routes[position]
            return true
        }
        return found
    }

    /// Why each rule did or did not take `request`, in table order, up to and
    /// including the one that did: what the explain endpoint answers.
    public func explain(_ request: GatewayRequest) -> [(route: Route, mismatch: Mismatch?)] {
        var verdicts: [(route: Route, mismatch: Mismatch?)] = []
        for route in routes {
            let mismatch = route.firstMismatch(request)
            verdicts.append((route, mismatch))
            if mismatch == nil { break }
        }
        return verdicts
    }
}

extension GatewayRoutes.Route {
    /// The destination for `request`: by the bucket of its sticky header's value
    /// when the rule is sticky and the header is there, else by `random` (a
    /// number in 0..<10,000).
    /// Nil for a rule that answers by itself (no destinations).
    public func destination(for request: GatewayRequest, random: Int) -> GatewayRoutes.Destination? {
        guard !destinations.isEmpty else { return nil }
        var bucket = random
        if let stickyHeader, let value = request.value(of: stickyHeader) {
            bucket = StickySplit.bucket(of: value)
        }
        for (index, bound) in bounds.enumerated() where bucket < bound {
            return destinations[index]
        }
        return destinations[destinations.count - 1]
    }

    /// The first condition of the rule that `request` does not meet, or nil
    /// when it meets them all. Conditions are checked cheapest first: method,
    /// host, path, headers, query.
    public func firstMismatch(_ request: GatewayRequest) -> GatewayRoutes.Mismatch? {
        var cache = HeaderCache(slots: match.headers.map(\.slot).max().map { $0 + 1 } ?? 0)
        return match.firstMismatch(request, &cache)
    }
}

/// A rule's conditions as byte comparisons: Swift's `String` equality and
/// `hasPrefix` compare by Unicode characters, an order of magnitude slower than
/// comparing the UTF-8 bytes HTTP fields are made of. Checked cheapest first:
/// method, host, path, headers, query.
final class CompiledMatch: Sendable {
    enum Host: Sendable {
        case exact([UInt8])
        /// The domain with its leading dot (`.pos.example`).
        case suffix([UInt8])
    }

    enum Path: Sendable {
        case exact([UInt8])
        /// Segment prefix; `/` matches every path.
        case prefix([UInt8])
        case regex(SafeRegex)
    }

    enum Value: Sendable {
        case exact([UInt8])
        case prefix([UInt8])
        /// regex, present, absent, version: as WeftProtocol matches them.
        /// A semantic-version range: the header's version is parsed once per
        /// request (`HeaderCache`), not once per rule.
        case version(VersionRange)
        case other(ValueMatch)
    }

    let methods: [[UInt8]]
    let hosts: [Host]
    let path: Path?
    let headers: [(name: String, slot: Int, value: Value)]
    let query: [(name: String, value: Value)]

    init(_ match: RouteMatch, slots: inout [String: Int]) {
        methods = match.methods.map { Array($0.rawValue.utf8) }
        hosts = match.hosts.map { pattern in
            switch pattern {
            case .exact(let host): .exact(Array(host.utf8))
            case .suffix(let domain): .suffix(Array(("." + domain).utf8))
            }
        }
        path = match.path.map { path in
            switch path {
            case .exact(let text): .exact(Array(text.utf8))
            case .prefix(let text): .prefix(Array(text.utf8))
            case .regex(let regex): .regex(regex)
            }
        }
        headers = match.headers.map { header in
            let name = header.name.rawValue
            let slot = slots[name] ?? slots.count
            slots[name] = slot
            return (name, slot, Self.compile(header.match))
        }
        query = match.query.map { ($0.name, Self.compile($0.match)) }
    }

    static func compile(_ match: ValueMatch) -> Value {
        switch match {
        case .exact(let text): .exact(Array(text.utf8))
        case .prefix(let text): .prefix(Array(text.utf8))
        case .version(let range): .version(range)
        default: .other(match)
        }
    }

    func firstMismatch(_ request: GatewayRequest, _ cache: inout HeaderCache) -> GatewayRoutes.Mismatch? {
        if !methods.isEmpty, !methods.contains(where: { Self.equal(request.method, $0) }) {
            return .method
        }
        if !hosts.isEmpty, !hosts.contains(where: { Self.host(request.host, matches: $0) }) {
            return .host
        }
        if let path, !Self.path(request.path, matches: path) {
            return .path
        }
        for (index, header) in headers.enumerated() {
            let value = cache.value(header.slot, header.name, in: request)
            let matched: Bool
            if case .version(let range) = header.value {
                matched = cache.version(header.slot, header.name, in: request).map { range.contains($0) } ?? false
            } else {
                matched = Self.value(value, matches: header.value)
            }
            if !matched { return .header(index) }
        }
        for (index, parameter) in query.enumerated()
        where !Self.value(request.queryValue(of: parameter.name), matches: parameter.value) {
            return .query(index)
        }
        return nil
    }

    /// `host` is already lowercased and without its port.
    static func host(_ host: Substring, matches pattern: Host) -> Bool {
        switch pattern {
        case .exact(let expected):
            return equal(host, expected)
        case .suffix(let domain):
            // At least one label before the domain: `pos.example` itself is not below it.
            let count = host.utf8.count
            guard count > domain.count else { return false }
            return equal(host.utf8.index(host.utf8.startIndex, offsetBy: count - domain.count), in: host, domain)
        }
    }

    static func path(_ path: Substring, matches pattern: Path) -> Bool {
        switch pattern {
        case .exact(let expected):
            return equal(path, expected)
        case .prefix(let prefix):
            if prefix.count == 1 { return path.utf8.first == UInt8(ascii: "/") }
            guard hasPrefix(path, prefix) else { return false }
            let rest = path.utf8.dropFirst(prefix.count)
            return rest.isEmpty || rest.first == UInt8(ascii: "/")
        case .regex(let regex):
            return regex.matches(path)
        }
    }

    static func value(_ value: Substring?, matches pattern: Value) -> Bool {
        switch pattern {
        case .exact(let expected): return value.map { equal($0, expected) } ?? false
        case .prefix(let prefix): return value.map { hasPrefix($0, prefix) } ?? false
        case .version(let range):
            return value.flatMap { SemanticVersion(parsingHeaderValue: $0) }.map { range.contains($0) } ?? false
        case .other(let match): return match.matches(value)
        }
    }

    // Byte comparisons: lengths first, then memcmp over the contiguous UTF-8.

    @inline(__always)
    static func equal(_ text: Substring, _ bytes: [UInt8]) -> Bool {
        text.utf8.count == bytes.count && equal(text.utf8.startIndex, in: text, bytes)
    }

    @inline(__always)
    static func hasPrefix(_ text: Substring, _ bytes: [UInt8]) -> Bool {
        text.utf8.count >= bytes.count && equal(text.utf8.startIndex, in: text, bytes)
    }

    /// Whether `text`'s bytes from `start` on begin with `bytes` (the caller
    /// checked there are enough).
    static func equal(_ start: Substring.Index, in text: Substring, _ bytes: [UInt8]) -> Bool {
        if bytes.isEmpty { return true }
        let tail = text.utf8[start...]
        let fast = tail.withContiguousStorageIfAvailable { stored in
            bytes.withUnsafeBufferPointer { expected in
                memcmp(stored.baseAddress!, expected.baseAddress!, expected.count) == 0
            }
        }
        return fast ?? tail.starts(with: bytes)
    }
}

extension GatewayRoutes {
    /// The condition of a rule a request failed first.
    public enum Mismatch: Sendable, Equatable {
        case method, host, path
        /// `match.headers[i]`.
        case header(Int)
        /// `match.query[i]`.
        case query(Int)

        /// In words, with what the request carried: for the explain endpoint.
        public func describe(_ rule: RouteRule, _ request: GatewayRequest) -> String {
            let match = rule.match
            switch self {
            case .method:
                return "method \(request.method) is not \(match.methods.map(\.rawValue).joined(separator: " or "))"
            case .host:
                return "host \"\(request.host)\" is not \(match.hosts.map(\.description).joined(separator: " or "))"
            case .path:
                return "path \"\(request.path)\" does not match \(match.path.map(Self.describe) ?? "")"
            case .header(let index):
                let header = match.headers[index]
                let value = request.value(of: header.name.rawValue)
                return
                    "header \(header.name) \(value.map { "\"\($0)\"" } ?? "(absent)") does not match \(Self.describe(header.match))"
            case .query(let index):
                let parameter = match.query[index]
                let value = request.queryValue(of: parameter.name)
                return
                    "query parameter \(parameter.name) \(value.map { "\"\($0)\"" } ?? "(absent)") does not match \(Self.describe(parameter.match))"
            }
        }

        static func describe(_ path: PathMatch) -> String {
            switch path {
            case .exact(let text): "exact \(text)"
            case .prefix(let text): "prefix \(text)"
            case .regex(let regex): "regex \(regex)"
            }
        }

        static func describe(_ match: ValueMatch) -> String {
            switch match {
            case .exact(let text): "exact \"\(text)\""
            case .prefix(let text): "prefix \"\(text)\""
            case .regex(let regex): "regex \(regex)"
            case .present: "present"
            case .absent: "absent"
            case .version(let range): "version \(range)"
            }
        }
    }
}

/// What routing looks at in one request, read from its HTTP/2 header list (an
/// HTTP/1.1 request has been translated already: `Host` is `:authority`).
/// Substrings of the header values: nothing is copied unless a header occurs
/// several times (its values are then joined with `,`, RFC 9110 5.3) or a query
/// value is percent-encoded.
public struct GatewayRequest: Sendable {
    public let method: Substring
    /// Lowercased, without the port.
    public let host: Substring
    /// Without the query.
    public let path: Substring
    /// After `?`; empty when there is none.
    public let query: Substring
    public let headers: [HTTP2Header]

    public init(headers: [HTTP2Header]) {
        var method: Substring = ""
        var authority: Substring = ""
        var target: Substring = ""
        for header in headers {
            guard header.name.utf8.first == UInt8(ascii: ":") else { break }
            switch header.name {
            case ":method": method = Substring(header.value)
            case ":authority": authority = Substring(header.value)
            case ":path": target = Substring(header.value)
            default: break
            }
        }
        if authority.isEmpty, let host = headers.first(where: { $0.name == "host" }) {
            authority = Substring(host.value)
        }
        self.method = method
        self.host = Self.hostPart(of: authority)
        if let question = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = target[..<question]
            query = target[target.utf8.index(after: question)...]
        } else {
            path = target
            query = ""
        }
        self.headers = headers
    }

    /// The authority's host, lowercased, without port or IPv6 brackets.
    static func hostPart(of authority: Substring) -> Substring {
        var host = authority
        let bytes = authority.utf8
        if bytes.first == UInt8(ascii: "["), let close = bytes.firstIndex(of: UInt8(ascii: "]")) {
            host = host[bytes.index(after: bytes.startIndex)..<close]
        } else if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            host = host[..<colon]
        }
        if host.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) {
            return Substring(host.lowercased())
        }
        return host
    }

    /// The value of header `name` (lowercase), its values joined with `,` when
    /// it occurs several times; nil when absent.
    /// Linear in the header list however often the field repeats: the values are
    /// joined once, not appended one by one (which would copy the growing value
    /// each time: quadratic in a request of thousands of repeats).
    public func value(of name: String) -> Substring? {
        var first: Int?
        var repeated = false
        for index in headers.indices where headers[index].name == name {
            if first == nil {
                first = index
            } else {
                repeated = true
                break
            }
        }
        guard let first else { return nil }
        guard repeated else { return Substring(headers[first].value) }
        var joined = ""
        joined.reserveCapacity(headers[first...].reduce(0) { $0 + ($1.name == name ? $1.value.utf8.count + 1 : 0) })
        var started = false
        for header in headers[first...] where header.name == name {
            if started { joined += "," }
            joined += header.value
            started = true
        }
        return Substring(joined)
    }

    /// The first value of query parameter `name`, percent-decoded (`+` is a
    /// space); nil when absent. A parameter without `=` has the empty value.
    public func queryValue(of name: String) -> Substring? {
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let (key, value): (Substring, Substring)
            if let equals = pair.firstIndex(of: "=") {
                (key, value) = (pair[..<equals], pair[pair.index(after: equals)...])
            } else {
                (key, value) = (pair, "")
            }
            guard key == name else { continue }
            return Self.percentDecoded(value)
        }
        return nil
    }

    /// `value` with `%XX` and `+` decoded; invalid escapes are kept as written.
    static func percentDecoded(_ value: Substring) -> Substring {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            return value
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count)
        var iterator = Array(value.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let high = Self.hexValue(iterator[iterator.startIndex]),
                let low = Self.hexValue(iterator[iterator.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return Substring(String(decoding: bytes, as: UTF8.self))
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The rules a request's path can reach, so that a table of a thousand rules
/// does not try a thousand: rules whose path is an exact path or a prefix hang
/// on a trie of path segments (`/v1/pay` under `v1` then `pay`); rules with no
/// path, the root prefix or a regex are tried for every request. A request
/// walks its path's segments down the trie, and the rules met on the way (the
/// prefixes all along, the exact paths at the end) merge with the others in
/// table order.
struct PathIndex: Sendable {
    struct Node: Sendable {
        /// Keyed by segment; a request's segments look up as substrings of its
        /// path, with no copy.
        var children: [Substring: Int] = [:]
        /// Rules whose prefix ends here, in table order.
        var prefixes: [Int] = []
        /// Rules whose exact path ends here, in table order.
        var exact: [Int] = []
    }

    private var nodes: [Node] = [Node()]
    /// Rules every request may reach.
    private var always: [Int] = []

    init(_ paths: [PathMatch?]) {
        for (position, path) in paths.enumerated() {
            switch path {
            case .exact(let text)?:
                let node = insert(text)
                nodes[node].exact.append(position)
            case .prefix(let text)? where text != "/":
                let node = insert(text)
                nodes[node].prefixes.append(position)
            default:
                always.append(position)
            }
        }
    }

    private mutating func insert(_ path: String) -> Int {
        var node = 0
        for segment in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let key = Substring(String(segment))
            if let next = nodes[node].children[key] {
                node = next
            } else {
                nodes.append(Node())
                nodes[node].children[key] = nodes.count - 1
                node = nodes.count - 1
            }
        }
        return node
    }

    /// Calls `body` with each candidate rule's position, in table order, until
    /// it returns true.
    func candidates(for path: Substring, _ body: (Int) -> Bool) {
        // The lists met on the way: the prefixes of every node the path passes,
        // the exact paths of the node it ends at. A path is at most 8 KiB, so
        // the walk is bounded; most are a handful of segments.
        var lists: [[Int]] = [always]
        var node = 0
        var ended = true
        // The segments after each `/`, read off the UTF-8 bytes (a `split`
        // would build an array of them and compare by characters).
        let bytes = path.utf8
        var slash = bytes.firstIndex(of: UInt8(ascii: "/"))
        while let found = slash {
            let start = bytes.index(after: found)
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.endIndex
            guard let next = nodes[node].children[path[start..<end]] else {
                ended = false
                break
            }
            node = next
            if !nodes[node].prefixes.isEmpty { lists.append(nodes[node].prefixes) }
            slash = end < bytes.endIndex ? end : nil
        }
        if ended && !nodes[node].exact.isEmpty { lists.append(nodes[node].exact) }
        // Merge in table order.
        var cursors = [Int](repeating: 0, count: lists.count)
        while true {
            var best = -1
            var bestList = -1
            for (list, cursor) in cursors.enumerated() where cursor < lists[list].count {
                let position = lists[list][cursor]
                if best < 0 || position < best {
                    best = position
                    bestList = list
                }
            }
            guard best >= 0 else { return }
            cursors[bestList] += 1
            if body(best) { return }
        }
    }
}

/// One request's header values as the route table reads them: each distinct
/// header name is looked up (and a version header parsed) once, on first use,
/// however many rules read it. Lives for one `match` call.
struct HeaderCache {
    private enum Entry {
        case unread
        case read(Substring?)
    }

    private var values: [Entry]
    private var versions: [SemanticVersion??]

    init(slots: Int) {
        values = Array(repeating: .unread, count: slots)
        versions = Array(repeating: nil, count: slots)
    }

    mutating func value(_ slot: Int, _ name: String, in request: GatewayRequest) -> Substring? {
        if case .read(let value) = values[slot] { return value }
        let value = request.value(of: name)
        values[slot] = .read(value)
        return value
    }

    mutating func version(_ slot: Int, _ name: String, in request: GatewayRequest) -> SemanticVersion? {
        if let parsed = versions[slot] { return parsed }
        let parsed = value(slot, name, in: request).flatMap { SemanticVersion(parsingHeaderValue: $0) }
        versions[slot] = .some(parsed)
        return parsed
    }
}
