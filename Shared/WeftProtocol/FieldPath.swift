/// A path to a field inside a JSON document, printed the way an operator would
/// write it: `routes[2].match.headers[0].regex`.
public struct FieldPath: Hashable, CustomStringConvertible, Sendable {
    public enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    public var components: [Component]

    public init(_ components: [Component] = []) {
        self.components = components
    }

    init(_ codingPath: [any CodingKey]) {
        self.components = codingPath.map { key in
            if let index = key.intValue { return .index(index) }
            return .key(key.stringValue)
        }
    }

    public var isEmpty: Bool { components.isEmpty }

    public func appending(_ other: FieldPath) -> FieldPath {
        FieldPath(components + other.components)
    }

    public func appending(_ component: Component) -> FieldPath {
        FieldPath(components + [component])
    }

    public var description: String {
        var text = ""
        for component in components {
            switch component {
            case .index(let index):
                text += "[\(index)]"
            case .key(let key) where Self.isPlainIdentifier(key):
                text += text.isEmpty ? key : ".\(key)"
            case .key(let key):
                // Map keys such as label names may hold dots or dashes; quote them so
                // the path stays unambiguous.
                let escaped = key.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
                text += "[\"\(escaped)\"]"
            }
        }
        return text
    }

    private static func isPlainIdentifier(_ key: String) -> Bool {
        guard let first = key.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return key.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
    }
}
