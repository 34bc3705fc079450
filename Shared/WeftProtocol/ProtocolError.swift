/// Why a value was refused: where (a field path such as
/// `routes[2].match.headers[0].regex`) and the reason, in words an operator can act
/// on. Every validation failure in WeftProtocol is one of these.
public struct ProtocolError: Error, Equatable, Hashable, CustomStringConvertible, Sendable {
    /// The field path, empty for the document itself.
    public var path: FieldPath
    public var reason: String

    public init(_ path: FieldPath, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    /// A failure of the value itself (no field path).
    public init(_ reason: String) {
        self.init(FieldPath(), reason)
    }

    /// A failure of the field named `key`, relative to the value being validated.
    public init(field key: String, _ reason: String) {
        self.init(FieldPath([.key(key)]), reason)
    }

    /// The same error seen from further up the document: `prefix` is prepended.
    public func under(_ prefix: FieldPath) -> ProtocolError {
        ProtocolError(prefix.appending(path), reason)
    }

    func under(_ codingPath: [any CodingKey]) -> ProtocolError {
        under(FieldPath(codingPath))
    }

    public var description: String {
        path.isEmpty ? reason : "\(path): \(reason)"
    }
}
