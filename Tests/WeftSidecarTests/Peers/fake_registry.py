"""A registry that misbehaves on purpose, for the sidecar's discovery tests.

    fake_registry.py MODE

Answers every POST /v1/discovery by MODE:
  invalid   200 with a snapshot that does not validate
  huge      200 with a 20 MiB body
  same      200 at once (no blocking) with version 1, the version the sidecar has
Binds 127.0.0.1 on a port the kernel picks and prints `listening <port>`, then
one `query` line per request, so a test can count them.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
SAME = json.dumps({
    "version": 1, "generated_at": "2026-11-27T00:00:00Z",
    "defaults": {"default_action": "deny", "trust_domain": "weft.local"},
}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *arguments):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        print("query", flush=True)
        if MODE == "invalid":
            body = b'{"version": 7, "generated_at": "2026-11-27T00:00:00Z", "upstreams": "not a list"}'
        elif MODE == "huge":
            body = b"[" + b"0," * (10 << 20) + b"0]"
        else:
            body = SAME
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
