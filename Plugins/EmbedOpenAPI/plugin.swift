import Foundation
import PackagePlugin

/// Compiles a service's OpenAPI document (docs/api/<service>.openapi.json, the
/// one source) into the service as `<Service>OpenAPI.document`, at build time.
@main
struct EmbedOpenAPI: BuildToolPlugin {
    /// Which document each target carries, and the enum it is compiled into.
    static let documents = [
        "WeftRegistry": ("registry.openapi.json", "RegistryOpenAPI"),
        "WeftCA": ("ca.openapi.json", "CAOpenAPI"),
    ]

    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let (file, name) = Self.documents[target.name] else {
            throw EmbedError(message: "EmbedOpenAPI knows no document for target \(target.name)")
        }
        let input = context.package.directoryURL.appending(path: "docs/api/\(file)")
        let output = context.pluginWorkDirectoryURL.appending(path: "\(name).swift")
        return [
            .buildCommand(
                displayName: "Embedding docs/api/\(file) as \(name)",
                executable: try context.tool(named: "weft-embed-text").url,
                arguments: [input.path(), output.path(), name],
                inputFiles: [input], outputFiles: [output])
        ]
    }
}

struct EmbedError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
