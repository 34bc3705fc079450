/// Makes a route's weighted split sticky: requests carrying the same value of
/// `header` (`x-terminal-id`) always take the same destination, across requests,
/// gateway restarts and gateway replicas, as long as the weights stay the same.
/// A request without the header is split at random.
///
/// The value is hashed (FNV-1a, 64 bits) into one of 10,000 buckets laid over the
/// destinations in order by weight; raising the last destination's weight from 10
/// to 20 moves only terminals into it, never out of it.
///
/// In JSON: `{"header": "x-terminal-id"}`.
public struct StickySplit: Codable, Hashable, Sendable {
    public var header: HeaderName

    public init(header: HeaderName) {
        self.header = header
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["header"])
        self.header = try object.required("header")
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(header, "header")
    }

    /// The bucket (0..<10,000) of a header value.
    public static func bucket(of value: some StringProtocol) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in value.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int(hash % 10_000)
    }
}
