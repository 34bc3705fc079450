/// What an intention (or the mesh default) does with a caller: let it through or
/// refuse it with 403.
public enum IntentionAction: String, Codable, CaseIterable, Sendable {
    case allow, deny

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = IntentionAction(rawValue: text) else {
            throw ProtocolError(
                FieldPath(decoder.codingPath), "unknown action \"\(text.prefix(40))\"; expected allow or deny")
        }
        self = value
    }
}
