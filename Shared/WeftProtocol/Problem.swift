/// An error body as every Weft API sends it: RFC 9457 problem details
/// (`application/problem+json`), with an `errors` extension listing each field that
/// was refused and why, so clients can point at the exact field.
public struct Problem: Codable, Hashable, Error, Sendable {
    public struct FieldError: Codable, Hashable, Sendable {
        public var field: String
        public var reason: String

        public init(field: String, reason: String) {
            self.field = field
            self.reason = reason
        }

        public init(from decoder: any Decoder) throws {
            let object = try JSONObject(decoder, fields: ["field", "reason"])
            self.init(field: try object.required("field"), reason: try object.required("reason"))
        }

        public func encode(to encoder: any Encoder) throws {
            var object = encoder.object()
            try object.encode(field, "field")
            try object.encode(reason, "reason")
        }
    }

    public static let contentType = "application/problem+json"
    /// Weft's problem types live under this URI; each names one failure kind.
    public static let typeBase = "https://weft.dev/problems/"

    public var type: String
    public var title: String
    public var status: Int
    public var detail: String?
    public var instance: String?
    public var errors: [FieldError]

    public init(
        type: String = "about:blank", title: String, status: Int, detail: String? = nil, instance: String? = nil,
        errors: [FieldError] = []
    ) {
        precondition((400...599).contains(status), "a problem is an error status")
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.instance = instance
        self.errors = errors
    }

    /// The 400 (or 422) answer for a body WeftProtocol refused.
    public init(invalid error: ProtocolError, status: Int = 400) {
        self.init(
            type: Self.typeBase + "invalid-request", title: "The request is not valid", status: status,
            detail: error.description, errors: [FieldError(field: error.path.description, reason: error.reason)])
    }

    public init(from decoder: any Decoder) throws {
        // Problems come from other servers too; extension members we do not know are
        // allowed by RFC 9457, so they are ignored whatever the decoder's policy.
        let container = try decoder.container(keyedBy: AnyKey.self)
        let status = try container.decode(Int.self, forKey: "status")
        guard (400...599).contains(status) else {
            throw ProtocolError(
                FieldPath(decoder.codingPath + [AnyKey("status")]),
                "must be an error status (400 to 599), got \(status)")
        }
        self.init(
            type: try container.decodeIfPresent(String.self, forKey: "type") ?? "about:blank",
            title: try container.decodeIfPresent(String.self, forKey: "title") ?? "",
            status: status,
            detail: try container.decodeIfPresent(String.self, forKey: "detail"),
            instance: try container.decodeIfPresent(String.self, forKey: "instance"),
            errors: try container.decodeIfPresent([FieldError].self, forKey: "errors") ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(type, "type")
        try object.encode(title, "title")
        try object.encode(status, "status")
        try object.encode(detail, "detail")
        try object.encode(instance, "instance")
        if !errors.isEmpty { try object.encode(errors, "errors") }
    }
}
