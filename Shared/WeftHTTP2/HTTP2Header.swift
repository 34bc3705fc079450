/// One HTTP/2 header field. Names are lowercase on the wire (RFC 9113 8.2.1);
/// pseudo-headers (`:method`, `:path`, `:status`, …) come first.
public struct HTTP2Header: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): \(value)" }
}

extension Array where Element == HTTP2Header {
    /// The first value of `name`.
    public subscript(first name: String) -> String? {
        first { $0.name == name }?.value
    }
}
