import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
import WeftHTTP2
import WeftProxy

@Suite struct HTTPMessageTranslationTests {
    static func head(_ method: HTTPMethod = .GET, _ uri: String, _ headers: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    @Test(arguments: [
        (head(.GET, "/", []), "the request has no Host header"),
        (head(.GET, "/", [("Host", "a.example"), ("Host", "b.example")]), "the request has conflicting Host headers"),
        (head(.GET, "relative/path", [("Host", "a")]), "the request target must start with / (origin form)"),
        (head(.GET, "*", [("Host", "a")]), "the request target * is only for OPTIONS"),
        (head(.CONNECT, "/path", [("Host", "a")]), "a CONNECT target must be host:port"),
        (head(.CONNECT, "db.internal", []), "a CONNECT target must be host:port"),
        (head(.CONNECT, "a,b:443", []), "a CONNECT target must be host:port"),
        (head(.GET, "/", [("Host", "a b")]), "the request's authority a b is not a host[:port]"),
        (head(.GET, "http://user@a/x", []), "the request's authority user@a is not a host[:port]"),
    ])
    func refusesRequestsHTTP2CannotCarry(head: HTTPRequestHead, reason: String) {
        #expect(throws: HTTPMessageTranslation.Failure(reason)) {
            try HTTPMessageTranslation.http2RequestHeaders(for: head, scheme: "http")
        }
    }

    @Test func translatesAnOrdinaryRequest() throws {
        let request = Self.head(
            .POST, "/v1/orders?page=2",
            [
                ("Host", "api.weft:8080"), ("Content-Type", "application/json"), ("Content-Length", "12"),
                ("X-Firmware-Version", "2.1.0"),
            ])
        let headers = try HTTPMessageTranslation.http2RequestHeaders(for: request, scheme: "http")
        #expect(
            headers == [
                HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"),
                HTTP2Header(":authority", "api.weft:8080"),
                HTTP2Header(":path", "/v1/orders?page=2"), HTTP2Header("content-type", "application/json"),
                HTTP2Header("content-length", "12"), HTTP2Header("x-firmware-version", "2.1.0"),
            ])
    }

    @Test func dropsConnectionSpecificFieldsAndTheOnesConnectionNames() throws {
        let request = Self.head(
            .GET, "/",
            [
                ("Host", "a"), ("Connection", "keep-alive, X-Hop"), ("Keep-Alive", "timeout=5"), ("X-Hop", "secret"),
                ("Transfer-Encoding", "chunked"), ("Upgrade", "websocket"), ("Proxy-Connection", "keep-alive"),
                ("TE", "gzip"), ("X-Kept", "1"),
            ])
        let names = try HTTPMessageTranslation.http2RequestHeaders(for: request, scheme: "http").map(\.name)
        #expect(names == [":method", ":scheme", ":authority", ":path", "x-kept"])
        let trailersOnly = Self.head(.GET, "/", [("Host", "a"), ("TE", "gzip, trailers")])
        #expect(
            try HTTPMessageTranslation.http2RequestHeaders(for: trailersOnly, scheme: "http").last
                == HTTP2Header("te", "trailers"))
    }

    @Test func handlesAbsoluteFormConnectAndAsterisk() throws {
        let absolute = try HTTPMessageTranslation.http2RequestHeaders(
            for: Self.head(.GET, "http://catalog.weft:9000/items?x=1", [("Host", "ignored")]), scheme: "http")
        #expect(absolute[first: ":authority"] == "catalog.weft:9000")
        #expect(absolute[first: ":path"] == "/items?x=1")
        let bare = try HTTPMessageTranslation.http2RequestHeaders(
            for: Self.head(.GET, "http://catalog.weft", []), scheme: "http")
        #expect(bare[first: ":path"] == "/")
        let connect = try HTTPMessageTranslation.http2RequestHeaders(
            for: Self.head(.CONNECT, "db.internal:5432", []), scheme: "http")
        #expect(connect == [HTTP2Header(":method", "CONNECT"), HTTP2Header(":authority", "db.internal:5432")])
        let options = try HTTPMessageTranslation.http2RequestHeaders(
            for: Self.head(.OPTIONS, "*", [("Host", "a")]), scheme: "https")
        #expect(options[first: ":path"] == "*")
    }

    @Test func translatesHTTP2RequestsBackWithHost() throws {
        let head = try HTTPMessageTranslation.http1RequestHead(for: [
            HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "https"), HTTP2Header(":authority", "api:443"),
            HTTP2Header(":path", "/x"), HTTP2Header("accept", "*/*"),
        ])
        #expect(head.method == .GET && head.uri == "/x")
        #expect(head.headers["host"] == ["api:443"] && head.headers["accept"] == ["*/*"])
        let connect = try HTTPMessageTranslation.http1RequestHead(for: [
            HTTP2Header(":method", "CONNECT"), HTTP2Header(":authority", "db:5432"),
        ])
        #expect(connect.method == .CONNECT && connect.uri == "db:5432")
        #expect(throws: HTTPMessageTranslation.Failure("the request has no :path")) {
            try HTTPMessageTranslation.http1RequestHead(for: [
                HTTP2Header(":method", "GET"), HTTP2Header(":authority", "a"),
            ])
        }
        #expect(throws: HTTPMessageTranslation.Failure("the request has no :authority")) {
            try HTTPMessageTranslation.http1RequestHead(for: [HTTP2Header(":method", "GET"), HTTP2Header(":path", "/")])
        }
    }

    @Test(arguments: [
        ([HTTP2Header("content-type", "x")], "the response has no :status"),
        ([HTTP2Header(":status", "20")], "the response status 20 is not a three-digit code from 100 to 599"),
        ([HTTP2Header(":status", "600")], "the response status 600 is not a three-digit code from 100 to 599"),
        ([HTTP2Header(":status", "2OO")], "the response status 2OO is not a three-digit code from 100 to 599"),
    ])
    func refusesResponsesWithoutAValidStatus(headers: [HTTP2Header], reason: String) {
        #expect(throws: HTTPMessageTranslation.Failure(reason)) {
            try HTTPMessageTranslation.http1ResponseHead(for: headers)
        }
    }

    @Test func responsesRoundTrip() throws {
        var fields = HTTPHeaders()
        fields.add(name: "Content-Type", value: "text/plain")
        fields.add(name: "Connection", value: "close")
        fields.add(name: "Set-Cookie", value: "a=1")
        fields.add(name: "Set-Cookie", value: "b=2")
        let h2 = HTTPMessageTranslation.http2ResponseHeaders(
            for: HTTPResponseHead(version: .http1_1, status: .notFound, headers: fields))
        #expect(
            h2 == [
                HTTP2Header(":status", "404"), HTTP2Header("content-type", "text/plain"),
                HTTP2Header("set-cookie", "a=1"),
                HTTP2Header("set-cookie", "b=2"),
            ])
        let back = try HTTPMessageTranslation.http1ResponseHead(for: h2)
        #expect(back.status == .notFound)
        #expect(back.headers["set-cookie"] == ["a=1", "b=2"])
    }

    /// Found by Fuzz/HTTP1Fuzz: bytes NIO's decoder takes, translated, back and
    /// forward again.
    @Test(arguments: [
        // A comma in a CONNECT target came back as two Host values.
        "CONNECT catal,gSubstring.mesh:443 HTTP/1.1\r\noHost: catalog.mesh:443\r\n\r\n",
        "GET http://a,b/x HTTP/1.1\r\nHost: c\r\n\r\n",
    ])
    func fuzzFindingsTranslateStably(_ text: String) throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        final class Heads: ChannelInboundHandler {
            typealias InboundIn = HTTPServerRequestPart
            var heads: [HTTPRequestHead] = []
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                if case .head(let head) = unwrapInboundIn(data) { heads.append(head) }
            }
        }
        let heads = Heads()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        try channel.pipeline.syncOperations.addHandler(heads)
        try? channel.writeInbound(channel.allocator.buffer(string: text))
        for head in heads.heads {
            guard let block = try? HTTPMessageTranslation.http2RequestHeaders(for: head, scheme: "http") else {
                continue
            }
            let back = try HTTPMessageTranslation.http1RequestHead(for: block)
            let again = try HTTPMessageTranslation.http2RequestHeaders(for: back, scheme: "http")
            #expect(again == block)
        }
    }
}
