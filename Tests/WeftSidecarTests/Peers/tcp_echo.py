"""A TCP echo server for the sidecar tests: tcp_echo.py PORT echoes every byte
back on each connection, and half-closes when its peer does. PORT 0 lets the
kernel choose; the port is reported as `listening <port>`."""
import socket
import sys
import threading


def serve(connection):
    with connection:
        while True:
            data = connection.recv(65536)
            if not data:
                connection.shutdown(socket.SHUT_WR)
                return
            connection.sendall(data)


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(16)
print(f"listening {listener.getsockname()[1]}", flush=True)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
