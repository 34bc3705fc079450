"""An OTLP/HTTP trace receiver for the sidecar's tracing tests, decoding with
the OpenTelemetry project's own protobuf definitions (opentelemetry-proto).

    otlp_collector.py SPANS_FILE [UNAVAILABLE | hang]

Takes POST /v1/traces (application/x-protobuf), decodes each
ExportTraceServiceRequest, and appends one JSON line per span to SPANS_FILE
with its resource's attributes. Answers the first UNAVAILABLE requests (default
0) with 503, as a collector that is starting up does; `hang` reads every post
and never answers, as a wedged collector does. A body that does not
decode is a 400 and a `bad` line on stdout, so a test sees the proxy's
encoding fail. Binds 127.0.0.1 on a port the kernel picks and prints
`listening <port>`.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SPANS_FILE = sys.argv[1]
HANG = len(sys.argv) > 2 and sys.argv[2] == "hang"
unavailable = int(sys.argv[2]) if len(sys.argv) > 2 and not HANG else 0


def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *arguments):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global unavailable
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path != "/v1/traces" or self.headers.get("content-type") != "application/x-protobuf":
            print(f"bad path or type {self.path} {self.headers.get('content-type')}", flush=True)
            self.answer(415)
            return
        if HANG:
            print("hanging", flush=True)
            threading.Event().wait()
        if unavailable > 0:
            unavailable -= 1
            print("refused 503", flush=True)
            self.answer(503)
            return
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as error:  # a malformed message: the test must see it
            print(f"bad {error}", flush=True)
            self.answer(400)
            return
        lines = []
        for resource_spans in request.resource_spans:
            resource = {a.key: value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    lines.append(json.dumps({
                        "resource": resource,
                        "scope": scope_spans.scope.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": span.kind,
                        "start": span.start_time_unix_nano,
                        "end": span.end_time_unix_nano,
                        "attributes": {a.key: value(a.value) for a in span.attributes},
                        "status_code": span.status.code,
                        "status_message": span.status.message,
                    }))
        with open(SPANS_FILE, "a") as spans:
            for line in lines:
                spans.write(line + "\n")
        print(f"received {len(lines)}", flush=True)
        self.answer(200)  # an empty ExportTraceServiceResponse


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
