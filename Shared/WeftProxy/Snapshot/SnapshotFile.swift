public import WeftProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reads a discovery snapshot from a file: the static stand-in for the registry
/// (tests, or a proxy run without a control plane). The file holds exactly what the
/// registry's discovery API answers, so it is validated by the same code; unknown
/// fields are refused, since a typo in a hand-written file must fail loudly.
public enum SnapshotFile {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public static func load(path: String) throws(Failure) -> DiscoverySnapshot {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw Failure(description: "cannot read \(path): \(error)")
        }
        do {
            return try WeftJSON.decode(DiscoverySnapshot.self, from: data, maximumSize: 16 << 20)
        } catch {
            throw Failure(description: "\(path): \(error)")
        }
    }
}
