import NIOCore
import Testing
import WeftHTTP2
import WeftProtocol

@testable import WeftProxy

/// What a rule that answers by itself answers, and the response header
/// changes of any rule, without a channel.
@Suite struct RouteAnswerTests {
    static func rule(_ json: String) throws -> RouteRule { try WeftJSON.decode(RouteRule.self, from: json) }

    static func request(_ scheme: String, _ authority: String, _ target: String) -> [HTTP2Header] {
        [
            HTTP2Header(":method", "GET"), HTTP2Header(":scheme", scheme), HTTP2Header(":authority", authority),
            HTTP2Header(":path", target),
        ]
    }

    /// (redirect, scheme, authority, target, expected Location)
    static let redirects: [(String, String, String, String, String)] = [
        (#"{"scheme": "https"}"#, "http", "api.example:8080", "/pay?x=1", "https://api.example/pay?x=1"),
        (#"{"scheme": "https", "port": 8443}"#, "http", "api.example:8080", "/pay", "https://api.example:8443/pay"),
        (#"{"scheme": "https", "port": 443}"#, "http", "api.example", "/pay", "https://api.example/pay"),
        (#"{"host": "new.example"}"#, "http", "api.example:8080", "/pay", "http://new.example:8080/pay"),
        (#"{"path": "/moved", "strip_query": true}"#, "https", "api.example", "/pay?x=1", "https://api.example/moved"),
        (#"{"prefix": "/v2"}"#, "https", "api.example", "/v1/pay/7?a=b", "https://api.example/v2/pay/7?a=b"),
        (#"{"prefix": "/"}"#, "https", "api.example", "/v1/pay", "https://api.example/pay"),
        (#"{"prefix": "/v2/"}"#, "https", "api.example", "/v1", "https://api.example/v2/"),
        (#"{"scheme": "http"}"#, "https", "[2001:db8::1]:8443", "/", "http://[2001:db8::1]/"),
        (#"{"port": 9000}"#, "https", "[2001:db8::1]:8443", "/", "https://[2001:db8::1]:9000/"),
    ]

    @Test(arguments: redirects)
    func redirectsKeepWhatTheyDoNotReplace(
        redirect: String, scheme: String, authority: String, target: String, location: String
    ) throws {
        let rule = try Self.rule(#"{"name": "r", "match": {"path": {"prefix": "/v1"}}, "redirect": \#(redirect)}"#)
        let headers = Self.request(scheme, authority, target)
        let answer = try #require(
            RouteAnswer.response(for: rule, request: GatewayRequest(headers: headers), headers: headers))
        #expect(answer.status == 302)
        #expect(answer.headers == [HTTP2Header("location", location)])
        #expect(answer.body == nil)
    }

    @Test func directResponsesCarryTheirBodyAndType() throws {
        let headers = Self.request("http", "api.example", "/")
        let request = GatewayRequest(headers: headers)
        let text = try Self.rule(#"{"name": "d", "direct_response": {"status": 503, "body": "back at six"}}"#)
        let answer = try #require(RouteAnswer.response(for: text, request: request, headers: headers))
        #expect(answer.status == 503)
        #expect(answer.headers == [HTTP2Header("content-type", "text/plain; charset=utf-8")])
        #expect(answer.body.map { String(buffer: $0) } == "back at six")
        let json = try Self.rule(
            #"{"name": "d", "direct_response": {"status": 200, "body": "{}", "content_type": "application/json"}}"#)
        #expect(
            RouteAnswer.response(for: json, request: request, headers: headers)?.headers.first?.value
                == "application/json")
        let forwarding = try Self.rule(#"{"name": "f", "destinations": [{"service": "api"}]}"#)
        #expect(RouteAnswer.response(for: forwarding, request: request, headers: headers) == nil)
    }

    @Test func responseHeaderChangesRemoveThenSetThenAdd() throws {
        let edits = try WeftJSON.decode(
            HeaderEdits.self,
            from: #"{"remove": ["server"], "set": {"cache-control": "no-store"}, "add": {"vary": "x-terminal-id"}}"#)
        let head = [
            HTTP2Header(":status", "200"), HTTP2Header("server", "app/1.0"), HTTP2Header("cache-control", "max-age=60"),
            HTTP2Header("cache-control", "public"), HTTP2Header("vary", "accept"), HTTP2Header("content-length", "2"),
        ]
        #expect(
            edits.apply(to: head) == [
                HTTP2Header(":status", "200"), HTTP2Header("vary", "accept"), HTTP2Header("content-length", "2"),
                HTTP2Header("cache-control", "no-store"), HTTP2Header("vary", "x-terminal-id"),
            ])
        #expect(try HeaderEdits().apply(to: head) == head)
    }
}
