enum RegistryOpenAPI {
    static let document = "{}"
}
