enum CAOpenAPI {
    static let document = "{}"
}
