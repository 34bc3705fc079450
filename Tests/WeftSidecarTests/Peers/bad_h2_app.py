"""An h2c "application" that breaks HTTP/2 on purpose, for the sidecar tests.

    bad_h2_app.py MODE PORT

On every connection it reads the client's preface, then answers by MODE:
  http1        an HTTP/1.1 response, as a misconfigured app would
  even-stream  a valid SETTINGS, then HEADERS on stream 2 (a server may not open it)
  garbage      a frame header announcing 16 MiB of payload on stream 0
and keeps the connection open until the sidecar closes it. PORT 0 lets the
kernel choose; the port is reported as `listening <port>`.
"""
import socket
import sys
import threading

ANSWERS = {
    "http1": b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    "even-stream": bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
    + bytes([0, 0, 1, 1, 5, 0, 0, 0, 2, 0x88]),
    "garbage": bytes([0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0]) + b"x" * 64,
}


def serve(connection, answer):
    with connection:
        try:
            connection.recv(65536)
            connection.sendall(answer)
            while connection.recv(65536):
                pass
        except OSError:
            pass


mode, port = sys.argv[1], int(sys.argv[2])
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(16)
print(f"listening {listener.getsockname()[1]}", flush=True)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection, ANSWERS[mode]), daemon=True).start()
