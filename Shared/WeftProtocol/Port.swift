/// Validation shared by every port field: 1 to 65535 (0 is "any port" to a socket
/// API, never a place traffic can be sent).
enum Port {
    static func validate(_ value: Int, field: String) throws(ProtocolError) -> UInt16 {
        guard (1...65535).contains(value) else {
            throw ProtocolError(field: field, "must be between 1 and 65535, got \(value)")
        }
        return UInt16(value)
    }
}
