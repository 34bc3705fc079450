"""A real gRPC server and client (grpcio) for the sidecar tests.

    grpc_peer.py server PORT   serves weft.test.Echo on 127.0.0.1:PORT (h2c; 0: the
                               kernel chooses, reported as `listening <port>`)
    grpc_peer.py client PORT   calls it through PORT and prints one JSON report

The methods carry raw bytes (no protobuf needed): Unary echoes its request and
reports the caller identity the sidecar set and the deadline it received;
Stream echoes each message of a bidirectional stream; Fail ends with NOT_FOUND.
"""
import json
import sys
from concurrent import futures

import grpc


def unary(request, context):
    metadata = dict(context.invocation_metadata())
    remaining = context.time_remaining()
    context.send_initial_metadata([
        ("x-deadline-ms", str(int(remaining * 1000)) if remaining is not None else "none"),
        ("x-caller", metadata.get("x-weft-caller-identity", "")),
    ])
    context.set_trailing_metadata([("x-trailer", "kept")])
    return b"echo:" + request


def stream(requests, context):
    for message in requests:
        yield b"echo:" + message


def fail(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")


def serve(port):
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.stream_stream_rpc_method_handler(stream),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("weft.test.Echo", handlers)])
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"listening {bound}", flush=True)
    server.wait_for_termination()


def call(port):
    report = {}
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        response, rpc = channel.unary_unary("/weft.test.Echo/Unary").with_call(b"hello", timeout=5)
        initial = dict(rpc.initial_metadata())
        report["unary"] = response.decode()
        report["caller"] = initial.get("x-caller")
        report["deadline_ms"] = initial.get("x-deadline-ms")
        report["trailer"] = dict(rpc.trailing_metadata()).get("x-trailer")
        report["code"] = rpc.code().name
        messages = [f"m{i}".encode() * 1000 for i in range(50)]
        answers = channel.stream_stream("/weft.test.Echo/Stream")(iter(messages), timeout=5)
        report["stream"] = [len(answer) for answer in answers]
        report["stream_intact"] = report["stream"] == [len(m) + 5 for m in messages]
        try:
            channel.unary_unary("/weft.test.Echo/Fail")(b"x", timeout=5)
            report["fail"] = "succeeded"
        except grpc.RpcError as error:
            report["fail"] = error.code().name
            report["fail_details"] = error.details()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    {"server": serve, "client": call}[sys.argv[1]](int(sys.argv[2]))
