"""Paths of the test fixtures, a tiny MJPEG AVI writer for upload tests, and
a recorder of the metadata clients send."""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc

CLIENT_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = CLIENT_DIR.parents[1]
SERVER_BINARY = REPO_ROOT / "bazel-bin" / "server" / "sam2_server"
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "sam2.1-micro"
MODEL = FIXTURE / "model.pt"
IMAGE = FIXTURE / "image.png"  # 600 x 400
FRAMES = FIXTURE / "frames"    # 8 JPEG frames, 320 x 180
FRAME_FILES = sorted(FRAMES.glob("*.jpg"))


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    pad = b"\0" if len(data) % 2 else b""
    return fourcc + struct.pack("<I", len(data)) + data + pad


def _list(kind: bytes, data: bytes) -> bytes:
    return _chunk(b"LIST", kind + data)


def write_mjpeg_avi(path: Path, jpegs: list[bytes], width: int, height: int,
                    fps: int = 10) -> Path:
    """Writes the JPEG frames as an MJPG AVI (RIFF) file, as FFmpeg reads it."""
    n = len(jpegs)
    biggest = max(len(j) for j in jpegs)
    avih = struct.pack("<14I", 1_000_000 // fps, biggest * fps, 0, 0x10, n, 0, 1, biggest,
                       width, height, 0, 0, 0, 0)
    strh = (b"vids" + b"MJPG"
            + struct.pack("<IHHIIIIIIiI", 0, 0, 0, 0, 1, fps, 0, n, biggest, -1, 0)
            + struct.pack("<4h", 0, 0, width, height))
    strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG",
                       width * height * 3, 0, 0, 0, 0)
    hdrl = _list(b"hdrl", _chunk(b"avih", avih)
                 + _list(b"strl", _chunk(b"strh", strh) + _chunk(b"strf", strf)))
    movi_body = b""
    index = b""
    for jpeg in jpegs:
        # idx1 offsets count from the 'movi' fourcc.
        index += b"00dc" + struct.pack("<III", 0x10, 4 + len(movi_body), len(jpeg))
        movi_body += _chunk(b"00dc", jpeg)
    body = b"AVI " + hdrl + _list(b"movi", movi_body) + _chunk(b"idx1", index)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


class MetadataRecorder:
    """A generic RPC handler (grpc.GenericRpcHandler's interface) for an
    in-process gRPC server: records, per call, (method, the values of metadata
    key `header`) in `calls`, and the common names of the client's TLS
    certificate in `client_names`; answers NOT_FOUND, or UNAVAILABLE for the
    methods in `unavailable`."""

    def __init__(self, header: str) -> None:
        self.header = header
        self.calls: list[tuple[str, list[str]]] = []
        self.client_names: list[list[bytes]] = []
        self.unavailable: set[str] = set()
        self._lock = threading.Lock()

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = details.method.rsplit("/", 1)[-1]
        values = [v for k, v in details.invocation_metadata if k == self.header]
        with self._lock:
            self.calls.append((method, values))
        code = grpc.StatusCode.UNAVAILABLE if method in self.unavailable else \
            grpc.StatusCode.NOT_FOUND

        def fail(request: Any, context: grpc.ServicerContext) -> Any:
            names = context.auth_context().get("x509_common_name", [])
            with self._lock:
                self.client_names.append(list(names))
            context.abort(code, "recorded")

        def fail_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            fail(request, context)
            yield None  # never reached: abort raises

        if method == "PropagateVideo":
            return grpc.unary_stream_rpc_method_handler(fail_stream)
        if method == "CreateVideoSession":
            return grpc.stream_unary_rpc_method_handler(fail)
        return grpc.unary_unary_rpc_method_handler(fail)
