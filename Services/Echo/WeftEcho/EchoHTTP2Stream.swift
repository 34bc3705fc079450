import NIOCore
import WeftHTTP2

/// Echoes one HTTP/2 stream: a JSON report by default, or with `x-echo-stream: 1`
/// the body itself, streamed back as it arrives. In streaming mode received bytes
/// are consumed only once their echo has been written, so a client that does not
/// read its response cannot make the server buffer its upload.
final class EchoHTTP2Stream: HTTP2StreamHandler {
    private enum Mode {
        case awaitingHeaders
        case report(
            method: String, path: String, authority: String?, headers: [HTTP2Header], body: [UInt8],
            trailers: [HTTP2Header])
        case streaming
        case finished
    }

    private var mode = Mode.awaitingHeaders
    private let eventLoop: any EventLoop
    private let peerIdentity: String?
    private let behaviour: EchoBehaviour

    init(eventLoop: any EventLoop, peerIdentity: String?, behaviour: EchoBehaviour = EchoBehaviour()) {
        self.eventLoop = eventLoop
        self.peerIdentity = peerIdentity
        self.behaviour = behaviour
    }

    func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
        switch mode {
        case .awaitingHeaders:
            let method = headers[first: ":method"] ?? ""
            if headers[first: "x-echo-stream"] == "1" {
                mode = .streaming
                let response = [
                    HTTP2Header(":status", "200"), HTTP2Header("content-type", "application/octet-stream"),
                    HTTP2Header("x-echo-method", method), HTTP2Header("x-echo-path", headers[first: ":path"] ?? ""),
                ]
                try? stream.respond(response, endStream: endStream)
                if endStream { mode = .finished }
                return
            }
            mode = .report(
                method: method, path: headers[first: ":path"] ?? "", authority: headers[first: ":authority"],
                headers: headers, body: [], trailers: [])
            if endStream { finishReport(stream) }
        case .report(let method, let path, let authority, let requestHeaders, let body, _):
            // A second header block is the trailers.
            mode = .report(
                method: method, path: path, authority: authority, headers: requestHeaders, body: body,
                trailers: headers)
            if endStream { finishReport(stream) }
        case .streaming:
            if endStream { stream.write(ByteBuffer(), endStream: true) }
        case .finished:
            break
        }
    }

    func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
        switch mode {
        case .streaming:
            let count = data.readableBytes
            let written = eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenSuccess { stream.consume(count) }
            stream.write(data, endStream: endStream, promise: written)
            if endStream { mode = .finished }
        case .report(let method, let path, let authority, let headers, var body, let trailers):
            stream.consume(data.readableBytes)
            guard body.count + data.readableBytes <= EchoReport.maximumBody else {
                // Answer at once, then read and discard the rest (`.finished` consumes
                // without keeping): memory stays bounded and the answer is delivered.
                // A reset here would overtake the queued response.
                mode = .finished
                try? stream.respond(
                    [HTTP2Header(":status", "413"), HTTP2Header("content-length", "0")], endStream: true)
                return
            }
            body += data.readableBytesView
            mode = .report(
                method: method, path: path, authority: authority, headers: headers, body: body, trailers: trailers)
            if endStream { finishReport(stream) }
        case .awaitingHeaders, .finished:
            stream.consume(data.readableBytes)
        }
    }

    func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {
        mode = .finished
    }

    private func finishReport(_ stream: HTTP2Stream) {
        guard case .report(let method, let path, let authority, let headers, let body, let trailers) = mode else {
            return
        }
        mode = .finished
        let json = EchoReport(
            method: method, path: path, authority: authority, protocol: "h2", headers: headers, body: body,
            trailers: trailers, peerIdentity: peerIdentity
        ).json()
        var response = [
            HTTP2Header(":status", String(behaviour.status)), HTTP2Header("content-type", "application/json"),
            HTTP2Header("content-length", String(json.readableBytes)),
        ]
        if let name = behaviour.name { response.append(HTTP2Header("x-echo-name", name)) }
        guard let delay = behaviour.delay else {
            try? stream.respond(response, endStream: false)
            stream.write(json, endStream: true)
            return
        }
        eventLoop.assumeIsolated().scheduleTask(in: delay) {
            // A stream the caller gave up on refuses the answer: nothing to do.
            try? stream.respond(response, endStream: false)
            stream.write(json, endStream: true)
        }
    }
}
