/// A `host:port` to listen on or connect to, as flags and environment variables
/// give it: `127.0.0.1:8500`, `0.0.0.0:0` (any free port), `[::1]:8500`.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(validating text: String) throws(ProtocolError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ProtocolError("expected host:port, for example 127.0.0.1:8500; got \"\(text.prefix(80))\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else {
            throw ProtocolError("expected host:port with a host, for example 0.0.0.0:8500; got \"\(text.prefix(80))\"")
        }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
