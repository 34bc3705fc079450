/// A request method to match on: an uppercase token such as `GET` or `PURGE`.
public struct HTTPMethod: StringValidated, Hashable, Sendable {
    public let rawValue: String

    public init(validating text: String) throws(ProtocolError) {
        guard (1...20).contains(text.utf8.count),
            text.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || $0 == UInt8(ascii: "-") })
        else {
            throw ProtocolError("invalid method \"\(text.prefix(40))\": expected an uppercase token such as GET")
        }
        self.rawValue = text
    }

    public var description: String { rawValue }
}
