/// Facts about the HTTP/2 engine Weft runs on.
public enum HTTP2Library {
    /// The linked libnghttp2 version, for example `1.52.0`.
    public static var nghttp2Version: String { NGHTTP2Session.libraryVersion }
}
