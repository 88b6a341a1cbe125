"""Black-box bad-input suite: malformed requests sent from outside the process.

Every case sends one malformed request to the real sam2_server binary (the
bundled micro model) through the raw generated stubs (sam2_pb2 /
sam2_pb2_grpc, or raw bytes where the stubs cannot express the request),
and checks the exact gRPC status code DESIGN.md's table gives for it and the
gist of the message. After each case the server must still be healthy: the
health service says SERVING and a valid call on a valid session (a Segment
click on the image session, GetVideoSession on the video session) works.
The same holds for the HTTP side's POST /invocations (SageMaker's JSON
API), whose cases check the HTTP status and the error body's code.

The server is one per module. A case that kills it fails on its own (the
process is checked, then health) and the next case starts a fresh server,
so one crash cannot hide behind or cascade into the other cases.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import math
import re
import struct
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import RunningServer, launch_server, stop_server
from PIL import Image
from support import FRAME_FILES, IMAGE, write_mjpeg_avi

from sam2_client._generated.sam2.v1 import sam2_pb2 as pb
from sam2_client._generated.sam2.v1 import sam2_pb2_grpc as pb_grpc
from sam2_client.masks import encode_rle_counts

Code = grpc.StatusCode
CALL_TIMEOUT_S = 60.0
HEALTH_TIMEOUT_S = 10.0
# A GenerateMasks call that would keep the (single, CPU) worker busy for many
# seconds on the micro model (it is cancelled once it did its job; it stops
# between batches of points), and a deadline that passes while a call waits
# behind it.
BLOCKER_POINTS_PER_SIDE = 32
BLOCKER_POINTS_PER_BATCH = 8
BLOCKER_HEAD_START_S = 0.1
QUEUED_TIMEOUT_S = 0.2
# The server's default --max_receive_message_bytes (32 MiB).
MAX_MESSAGE_BYTES = 32 << 20
# The micro model's image_size is 512: low-resolution logits are 128 x 128.
LOW_RES = 128
IMAGE_W, IMAGE_H = 600, 400            # tests/fixtures/sam2.1-micro/image.png
VIDEO_W, VIDEO_H, VIDEO_N = 320, 180, 8  # tests/fixtures/sam2.1-micro/frames
SERVICE = "/sam2.v1.Sam2Service/"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
# grpc.health.v1.HealthCheckResponse{status: SERVING}, hand-encoded (the
# client venv has no grpcio-health-checking).
HEALTH_SERVING = b"\x08\x01"


# --- wire helpers ------------------------------------------------------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int32/int64 values are 10-byte varints
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint_field(number: int, value: int) -> bytes:
    """A varint field (wire type 0), e.g. an enum set by its raw number."""
    return varint(number << 3) + varint(value)


def bytes_field(number: int, value: bytes) -> bytes:
    """A length-delimited field (wire type 2), e.g. a string with any bytes."""
    return varint(number << 3 | 2) + varint(len(value)) + value


# --- image helpers -----------------------------------------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png.startswith(PNG_MAGIC)
    pos, chunks = len(PNG_MAGIC), []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        chunks.append((png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height (8-bit RGB) over a few bytes of
    pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (PNG_MAGIC + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def png_truncated_idat() -> bytes:
    """The fixture image with its pixel data cut to a tenth, every chunk's
    length and CRC consistent (so only the zlib stream is short)."""
    chunks = png_chunks(IMAGE.read_bytes())
    idat = b"".join(d for k, d in chunks if k == b"IDAT")
    out = PNG_MAGIC
    for kind, data in chunks:
        if kind == b"IDAT":
            continue
        if kind == b"IEND":
            out += png_chunk(b"IDAT", idat[:len(idat) // 10])
        out += png_chunk(kind, data)
    return out


def encode(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def small_jpeg(width: int = 64, height: int = 48) -> bytes:
    return encode(Image.new("RGB", (width, height), (120, 30, 200)), "JPEG")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A valid small JPEG whose SOF0 frame header is rewritten to claim
    width x height."""
    jpeg = bytearray(small_jpeg())
    sof = jpeg.find(b"\xff\xc0")
    assert sof > 0
    # FF C0, length (2), precision (1), height (2), width (2).
    struct.pack_into(">HH", jpeg, sof + 5, height, width)
    return bytes(jpeg)


def frame_bytes(i: int) -> bytes:
    return FRAME_FILES[i].read_bytes()


# --- the server under test ---------------------------------------------------------


@dataclass
class Env:
    """A running server and the valid sessions the cases aim at."""
    server: RunningServer
    channel: grpc.Channel
    stub: pb_grpc.Sam2ServiceStub
    instance_id: str
    image: str  # an image session on the fixture image
    video: str  # a frames video session with object 1 prompted on frame 0
    extra_sessions: list[str] = field(default_factory=list)

    def raw(self, method: str) -> grpc.UnaryUnaryMultiCallable:
        """A unary method taking and returning raw bytes."""
        return self.channel.unary_unary(SERVICE + method)

    def raw_stream(self, method: str) -> grpc.UnaryStreamMultiCallable:
        return self.channel.unary_stream(SERVICE + method)

    def click(self) -> pb.SegmentRequest:
        return pb.SegmentRequest(session=self.image,
                                 points=[pb.Point(x=300, y=200, label=1)])

    def video_session(self, frames: Iterable[bytes]) -> str:
        """A new frames video session (deleted after the case)."""
        stream = [pb.CreateVideoSessionRequest(config=pb.VideoSessionConfig())]
        stream += [pb.CreateVideoSessionRequest(frame=f) for f in frames]
        name: str = self.stub.CreateVideoSession(iter(stream), timeout=CALL_TIMEOUT_S).name
        self.extra_sessions.append(name)
        return name


def start_env(log: Path) -> Env:
    server = launch_server(log)
    channel = grpc.insecure_channel(
        server.address,
        options=[("grpc.max_send_message_length", 2 * MAX_MESSAGE_BYTES),
                 ("grpc.max_receive_message_length", 2 * MAX_MESSAGE_BYTES)])
    stub = pb_grpc.Sam2ServiceStub(channel)  # type: ignore[no-untyped-call]
    info = stub.GetServerInfo(pb.GetServerInfoRequest(), timeout=CALL_TIMEOUT_S)
    image = stub.CreateImageSession(pb.CreateImageSessionRequest(image=IMAGE.read_bytes()),
                                    timeout=CALL_TIMEOUT_S).name
    env = Env(server, channel, stub, info.instance_id, image, "")
    env.video = env.video_session(frame_bytes(i) for i in range(VIDEO_N))
    env.extra_sessions.clear()
    stub.AddPrompts(pb.AddPromptsRequest(session=env.video, frame_index=0, object_id=1,
                                         points=[pb.Point(x=160, y=90, label=1)]),
                    timeout=CALL_TIMEOUT_S)
    return env


class Holder:
    """The module's server; restarted when a case killed it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.starts = 0
        self.env: Env | None = None

    def get(self) -> Env:
        if self.env is None or self.env.server.process.poll() is not None:
            self.starts += 1
            self.env = start_env(self.tmp / f"sam2_server.{self.starts}.stderr")
        return self.env


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Holder]:
    h = Holder(tmp_path_factory.mktemp("bad_inputs"))
    try:
        yield h
    finally:
        if h.env is not None:
            h.env.channel.close()
            complaint = stop_server(h.env.server)
            if complaint:
                pytest.fail(complaint)


def assert_still_serving(env: Env, case: str) -> None:
    process = env.server.process
    if process.poll() is not None:
        pytest.fail(f"{case}: the server DIED (exit code {process.returncode})\n"
                    f"{env.server.log_tail()}", pytrace=False)
    try:
        health = env.channel.unary_unary(HEALTH_CHECK)(b"", timeout=HEALTH_TIMEOUT_S)
    except grpc.RpcError as e:
        pytest.fail(f"{case}: health check failed afterwards: {e.code()} {e.details()}\n"
                    f"{env.server.log_tail()}", pytrace=False)
    assert health == HEALTH_SERVING, f"{case}: health says {health!r}, not SERVING"
    segment = env.stub.Segment(env.click(), timeout=CALL_TIMEOUT_S)
    assert len(segment.prompts) == 1 and len(segment.prompts[0].masks) == 3
    assert segment.prompts[0].masks[0].height == IMAGE_H
    video = env.stub.GetVideoSession(pb.GetSessionRequest(name=env.video),
                                     timeout=CALL_TIMEOUT_S)
    assert (video.num_frames, video.height, video.width) == (VIDEO_N, VIDEO_H, VIDEO_W)
    assert list(video.object_ids) == [1]


# --- the cases ---------------------------------------------------------------------
# Each case is a function of the Env that makes one malformed call (it must
# raise grpc.RpcError), the code it must get, and a regular expression the
# message must contain.


@dataclass
class Case:
    id: str
    call: Callable[[Env], object]
    code: grpc.StatusCode
    gist: str


CASES: list[Case] = []


def case(id: str, code: grpc.StatusCode, gist: str) -> Callable[
        [Callable[[Env], object]], Callable[[Env], object]]:
    def register(fn: Callable[[Env], object]) -> Callable[[Env], object]:
        CASES.append(Case(id, fn, code, gist))
        return fn
    return register


def create_image(env: Env, data: bytes, **kw: object) -> object:
    return env.stub.CreateImageSession(pb.CreateImageSessionRequest(image=data),
                                       timeout=kw.get("timeout", CALL_TIMEOUT_S))


def segment(env: Env, **fields: Any) -> object:
    fields.setdefault("session", env.image)
    return env.stub.Segment(pb.SegmentRequest(**fields), timeout=CALL_TIMEOUT_S)


def point(x: float, y: float, label: int = 1) -> pb.Point:
    return pb.Point(x=x, y=y, label=label)


def add_prompts(env: Env, **fields: Any) -> object:
    fields.setdefault("session", env.video)
    fields.setdefault("object_id", 1)
    return env.stub.AddPrompts(pb.AddPromptsRequest(**fields), timeout=CALL_TIMEOUT_S)


def propagate(env: Env, raw: bytes | None = None, **fields: Any) -> list[object]:
    """Drains a PropagateVideo stream (the error comes while reading)."""
    fields.setdefault("session", env.video)
    if raw is not None:
        return list(env.raw_stream("PropagateVideo")(raw, timeout=CALL_TIMEOUT_S))
    return list(env.stub.PropagateVideo(pb.PropagateVideoRequest(**fields),
                                        timeout=CALL_TIMEOUT_S))


def upload(env: Env, parts: list[pb.CreateVideoSessionRequest], timeout: float = CALL_TIMEOUT_S
           ) -> object:
    session = env.stub.CreateVideoSession(iter(parts), timeout=timeout)
    env.extra_sessions.append(session.name)  # only reached when it wrongly succeeded
    return session


def upload_raw(env: Env, parts: list[bytes]) -> object:
    """CreateVideoSession with each message given as raw bytes."""
    reply = env.channel.stream_unary(SERVICE + "CreateVideoSession")(
        iter(parts), timeout=CALL_TIMEOUT_S)
    env.extra_sessions.append(pb.VideoSession.FromString(reply).name)  # wrongly succeeded
    return reply


def config() -> pb.CreateVideoSessionRequest:
    return pb.CreateVideoSessionRequest(config=pb.VideoSessionConfig())


def chunks(data: bytes) -> list[pb.CreateVideoSessionRequest]:
    return [config()] + [pb.CreateVideoSessionRequest(video_chunk=data[i:i + 65536])
                         for i in range(0, len(data), 65536)]


def video_mask(**fields: Any) -> pb.Mask:
    fields.setdefault("height", VIDEO_H)
    fields.setdefault("width", VIDEO_W)
    return pb.Mask(**fields)


def logits(n: int, value: float = 0.5) -> bytes:
    return struct.pack(f"<{n}f", *([value] * n))


def unknown_session(env: Env) -> str:
    return f"sessions/{env.instance_id}-{'0' * 32}"


# Images ---------------------------------------------------------------------------

case("image_empty", Code.INVALID_ARGUMENT, "image data is empty")(
    lambda env: create_image(env, b""))
case("image_random_bytes", Code.INVALID_ARGUMENT, "unsupported image format")(
    lambda env: create_image(env, bytes(range(256)) * 8))
case("image_gif", Code.INVALID_ARGUMENT, "unsupported image format")(
    lambda env: create_image(env, encode(Image.new("RGB", (32, 32)), "GIF")))
case("image_png_magic_then_garbage", Code.INVALID_ARGUMENT, "invalid PNG header")(
    lambda env: create_image(env, PNG_MAGIC + b"\x13\x37" * 200))
case("image_jpeg_magic_then_garbage", Code.INVALID_ARGUMENT, "invalid JPEG header")(
    lambda env: create_image(env, JPEG_MAGIC + b"\x13\x37" * 200))
case("image_png_truncated_to_header", Code.INVALID_ARGUMENT, "PNG image: truncated or corrupt")(
    lambda env: create_image(env, IMAGE.read_bytes()[:40]))
case("image_png_truncated_midway", Code.INVALID_ARGUMENT, "cannot decode the PNG image")(
    lambda env: create_image(env, IMAGE.read_bytes()[:len(IMAGE.read_bytes()) // 2]))
case("image_png_truncated_idat", Code.INVALID_ARGUMENT, "cannot decode the PNG image")(
    lambda env: create_image(env, png_truncated_idat()))
case("image_png_header_claims_huge", Code.INVALID_ARGUMENT,
     r"100000x100000; each side must be between 8 and 8192")(
    lambda env: create_image(env, png_claiming(100_000, 100_000)))
case("image_png_header_claims_2_31", Code.INVALID_ARGUMENT, "invalid PNG header")(
    lambda env: create_image(env, png_claiming(0x80000000, 0xFFFFFFFF)))
case("image_png_header_claims_zero", Code.INVALID_ARGUMENT, "invalid PNG header.*0x0")(
    lambda env: create_image(env, png_claiming(0, 0)))
case("image_png_header_claims_over_40_mpx", Code.INVALID_ARGUMENT, "over the limit of 40000000")(
    lambda env: create_image(env, png_claiming(8000, 8000)))
case("image_png_header_lies_small", Code.INVALID_ARGUMENT, "cannot decode the PNG image")(
    lambda env: create_image(env, png_claiming(4000, 3000)))
case("image_jpeg_header_claims_huge", Code.INVALID_ARGUMENT,
     r"65535x65535; each side must be between 8 and 8192")(
    lambda env: create_image(env, jpeg_claiming(65535, 65535)))
case("image_jpeg_header_claims_zero_height", Code.INVALID_ARGUMENT, "invalid JPEG header.*DNL")(
    lambda env: create_image(env, jpeg_claiming(64, 0)))
case("image_jpeg_truncated", Code.INVALID_ARGUMENT, "truncated JPEG data")(
    lambda env: create_image(env, frame_bytes(0)[:len(frame_bytes(0)) // 2]))
case("image_over_message_limit", Code.RESOURCE_EXHAUSTED, "larger than max")(
    lambda env: create_image(env, PNG_MAGIC + b"\0" * (MAX_MESSAGE_BYTES + 1024)))
case("image_request_not_protobuf", Code.INVALID_ARGUMENT, "cannot parse")(
    lambda env: env.raw("CreateImageSession")(b"\x0a\xff\xff\xff\xff\x0f" + b"\x89PNG",
                                              timeout=CALL_TIMEOUT_S))

# Points, boxes, labels ------------------------------------------------------------

case("point_nan", Code.INVALID_ARGUMENT, "non-finite")(
    lambda env: segment(env, points=[point(math.nan, 10)]))
case("point_inf", Code.INVALID_ARGUMENT, "non-finite")(
    lambda env: segment(env, points=[point(10, math.inf)]))
case("point_negative", Code.INVALID_ARGUMENT, "must lie on the image")(
    lambda env: segment(env, points=[point(-5, 10)]))
case("point_off_image", Code.INVALID_ARGUMENT, "must lie on the image")(
    lambda env: segment(env, points=[point(IMAGE_W + 50, 10)]))
case("point_label_unknown", Code.INVALID_ARGUMENT, "point labels must be in")(
    lambda env: segment(env, points=[point(10, 10, 7)]))
case("point_label_below_padding", Code.INVALID_ARGUMENT, "point labels must be in")(
    lambda env: segment(env, points=[point(10, 10, -2)]))
case("point_too_many", Code.INVALID_ARGUMENT, "limit is 64")(
    lambda env: segment(env, points=[point(10 + i, 10) for i in range(65)]))
case("box_inverted", Code.INVALID_ARGUMENT, "x0 <= x1 and y0 <= y1")(
    lambda env: segment(env, boxes=[pb.Box(x0=200, y0=200, x1=100, y1=100)]))
case("box_nan", Code.INVALID_ARGUMENT, "non-finite")(
    lambda env: segment(env, boxes=[pb.Box(x0=math.nan, y0=0, x1=10, y1=10)]))
case("box_off_image", Code.INVALID_ARGUMENT, "must lie on the image")(
    lambda env: segment(env, boxes=[pb.Box(x0=0, y0=0, x1=IMAGE_W * 3, y1=10)]))
case("box_too_many", Code.INVALID_ARGUMENT, "limit is 16")(
    lambda env: segment(env, boxes=[pb.Box(x0=1, y0=1, x1=20, y1=20)] * 17))
case("boxes_with_points", Code.INVALID_ARGUMENT, "cannot be combined with several boxes")(
    lambda env: segment(env, boxes=[pb.Box(x0=1, y0=1, x1=20, y1=20)] * 2,
                        points=[point(5, 5)]))
case("segment_empty_prompt", Code.INVALID_ARGUMENT, "empty prompt")(
    lambda env: segment(env))
case("segment_mask_format_unknown_raw", Code.INVALID_ARGUMENT, "unknown mask_format 99")(
    lambda env: env.raw("Segment")(env.click().SerializeToString() + varint_field(6, 99),
                                   timeout=CALL_TIMEOUT_S))
case("segment_mask_format_negative_raw", Code.INVALID_ARGUMENT, "unknown mask_format -1")(
    lambda env: env.raw("Segment")(env.click().SerializeToString() + varint_field(6, -1),
                                   timeout=CALL_TIMEOUT_S))

# Mask inputs (image) --------------------------------------------------------------

case("mask_logits_wrong_size", Code.INVALID_ARGUMENT, "64x64, expected 128x128")(
    lambda env: segment(env, points=[point(5, 5)], mask_input=pb.MaskInput(
        logits=pb.Mask(height=64, width=64, logits=logits(64 * 64)))))
case("mask_logits_wrong_length", Code.INVALID_ARGUMENT, "400 bytes, expected 65536")(
    lambda env: segment(env, points=[point(5, 5)], mask_input=pb.MaskInput(
        logits=pb.Mask(height=LOW_RES, width=LOW_RES, logits=logits(100)))))
case("mask_logits_nan", Code.INVALID_ARGUMENT, "finite")(
    lambda env: segment(env, points=[point(5, 5)], mask_input=pb.MaskInput(
        logits=pb.Mask(height=LOW_RES, width=LOW_RES,
                       logits=logits(LOW_RES * LOW_RES, math.nan)))))
case("mask_logits_negative_size", Code.INVALID_ARGUMENT, "positive height and width")(
    lambda env: segment(env, points=[point(5, 5)], mask_input=pb.MaskInput(
        logits=pb.Mask(height=-LOW_RES, width=LOW_RES, logits=b""))))
case("mask_logits_sent_as_rle", Code.INVALID_ARGUMENT, "must be sent as logits")(
    lambda env: segment(env, points=[point(5, 5)], mask_input=pb.MaskInput(
        logits=pb.Mask(height=LOW_RES, width=LOW_RES,
                       rle_counts=encode_rle_counts([LOW_RES * LOW_RES])))))
case("mask_reference_unknown_result", Code.NOT_FOUND, "result 987654321 is not kept")(
    lambda env: segment(env, points=[point(5, 5)], mask_input=pb.MaskInput(
        previous=pb.MaskReference(result_id=987654321))))

# Session names --------------------------------------------------------------------

case("session_name_empty", Code.INVALID_ARGUMENT, "sessions/<id>")(
    lambda env: segment(env, session="", points=[point(5, 5)]))
case("session_name_forged_not_hex", Code.INVALID_ARGUMENT, "malformed session id")(
    lambda env: segment(env, session=f"sessions/{env.instance_id}-{'z' * 32}",
                        points=[point(5, 5)]))
case("session_name_forged_short", Code.INVALID_ARGUMENT, "malformed session id")(
    lambda env: segment(env, session=env.image[:-1], points=[point(5, 5)]))
case("session_name_unknown_of_this_instance", Code.NOT_FOUND, "no session")(
    lambda env: segment(env, session=unknown_session(env), points=[point(5, 5)]))
case("session_name_foreign_instance", Code.NOT_FOUND, "otherreplica")(
    lambda env: segment(env, session=f"sessions/otherreplica-{'a' * 32}",
                        points=[point(5, 5)]))
case("session_name_oversized", Code.INVALID_ARGUMENT, "malformed session id.*longer than")(
    lambda env: segment(env, session="sessions/" + "a" * 100_000, points=[point(5, 5)]))
case("session_name_non_ascii", Code.INVALID_ARGUMENT, "malformed session id")(
    lambda env: segment(env, session=f"sessions/{env.instance_id}-{'é' * 32}",
                        points=[point(5, 5)]))
case("session_name_invalid_utf8_raw", Code.INVALID_ARGUMENT, "cannot parse")(
    lambda env: env.raw("GetImageSession")(bytes_field(1, b"sessions/\xff\xfe\xc0"),
                                           timeout=CALL_TIMEOUT_S))
case("delete_session_unknown", Code.NOT_FOUND, "no session")(
    lambda env: env.stub.DeleteSession(pb.DeleteSessionRequest(name=unknown_session(env)),
                                       timeout=CALL_TIMEOUT_S))

def on_own_channel(env: Env, call: Callable[[grpc.Channel], object]) -> object:
    """A call on a channel of its own: gRPC may close the connection after a
    transport-level refusal, which must not fail the next case's checks."""
    with grpc.insecure_channel(env.server.address) as channel:
        return call(channel)


def oversized_metadata(env: Env) -> object:
    def call(channel: grpc.Channel) -> object:
        stub = pb_grpc.Sam2ServiceStub(channel)  # type: ignore[no-untyped-call]
        return stub.GetImageSession(pb.GetSessionRequest(name=env.image),
                                    timeout=CALL_TIMEOUT_S,
                                    metadata=[("x-sam2-session", "s" * 20_000)])
    return on_own_channel(env, call)


# gRPC's own limit on metadata (8 KiB), refused like an oversized message.
case("metadata_oversized", Code.RESOURCE_EXHAUSTED, "metadata size exceeds limit")(
    oversized_metadata)
case("method_unknown", Code.UNIMPLEMENTED, "")(
    lambda env: on_own_channel(env, lambda ch: ch.unary_unary(SERVICE + "NoSuchMethod")(
        b"", timeout=CALL_TIMEOUT_S)))


# Session kinds ---------------------------------------------------------------------

case("segment_on_video_session", Code.FAILED_PRECONDITION, "is a video session")(
    lambda env: segment(env, session=env.video, points=[point(5, 5)]))
case("generate_masks_on_video_session", Code.FAILED_PRECONDITION, "is a video session")(
    lambda env: env.stub.GenerateMasks(pb.GenerateMasksRequest(session=env.video),
                                       timeout=CALL_TIMEOUT_S))
case("add_prompts_on_image_session", Code.FAILED_PRECONDITION, "is an image session")(
    lambda env: add_prompts(env, session=env.image, points=[point(5, 5)]))
case("propagate_on_image_session", Code.FAILED_PRECONDITION, "is an image session")(
    lambda env: propagate(env, session=env.image))
case("append_frames_on_image_session", Code.FAILED_PRECONDITION, "is an image session")(
    lambda env: env.stub.AppendFrames(pb.AppendFramesRequest(session=env.image,
                                                             frames=[frame_bytes(0)]),
                                      timeout=CALL_TIMEOUT_S))

# Automatic masks -------------------------------------------------------------------

case("generate_masks_zero_points_per_side", Code.INVALID_ARGUMENT, "points_per_side")(
    lambda env: env.stub.GenerateMasks(
        pb.GenerateMasksRequest(session=env.image, points_per_side=0), timeout=CALL_TIMEOUT_S))
case("generate_masks_huge_points_per_side", Code.INVALID_ARGUMENT, "points_per_side")(
    lambda env: env.stub.GenerateMasks(
        pb.GenerateMasksRequest(session=env.image, points_per_side=2_000_000_000),
        timeout=CALL_TIMEOUT_S))
case("generate_masks_nan_threshold", Code.INVALID_ARGUMENT, "pred_iou_thresh")(
    lambda env: env.stub.GenerateMasks(
        pb.GenerateMasksRequest(session=env.image, pred_iou_thresh=math.nan),
        timeout=CALL_TIMEOUT_S))
case("generate_masks_logits_format", Code.INVALID_ARGUMENT, "RLE or PNG, not logits")(
    lambda env: env.stub.GenerateMasks(
        pb.GenerateMasksRequest(session=env.image, mask_format=pb.MASK_FORMAT_LOGITS),
        timeout=CALL_TIMEOUT_S))

# Video prompts ---------------------------------------------------------------------

case("frame_index_past_end", Code.OUT_OF_RANGE, r"is outside the video \(8 frames\)")(
    lambda env: add_prompts(env, frame_index=VIDEO_N, points=[point(5, 5)]))
case("frame_index_negative", Code.OUT_OF_RANGE, r"is outside the video \(8 frames\)")(
    lambda env: add_prompts(env, frame_index=-1, points=[point(5, 5)]))
case("frame_index_int32_min", Code.OUT_OF_RANGE, r"is outside the video \(8 frames\)")(
    lambda env: add_prompts(env, frame_index=-2**31, points=[point(5, 5)]))
case("clear_prompts_frame_past_end", Code.OUT_OF_RANGE, r"is outside the video \(8 frames\)")(
    lambda env: env.stub.ClearPrompts(pb.ClearPromptsRequest(
        session=env.video, frame_index=1000, object_id=1), timeout=CALL_TIMEOUT_S))
case("propagate_start_frame_past_end", Code.OUT_OF_RANGE, r"is outside the video \(8 frames\)")(
    lambda env: propagate(env, start_frame=VIDEO_N + 5))
case("propagate_start_frame_negative", Code.OUT_OF_RANGE, r"is outside the video \(8 frames\)")(
    lambda env: propagate(env, start_frame=-3))
case("propagate_max_frames_negative", Code.INVALID_ARGUMENT, "max_frames")(
    lambda env: propagate(env, max_frames=-1))
case("propagate_direction_unknown_raw", Code.INVALID_ARGUMENT, "unknown direction 7")(
    lambda env: propagate(env, raw=pb.PropagateVideoRequest(session=env.video)
                          .SerializeToString() + varint_field(3, 7)))
case("propagate_request_not_protobuf", Code.INVALID_ARGUMENT, "cannot parse")(
    lambda env: propagate(env, raw=bytes_field(1, env.video.encode()) + b"\x18"))
case("add_prompts_mask_format_unknown_raw", Code.INVALID_ARGUMENT, "unknown mask_format 42")(
    lambda env: env.raw("AddPrompts")(
        pb.AddPromptsRequest(session=env.video, object_id=1, points=[point(5, 5)])
        .SerializeToString() + varint_field(8, 42), timeout=CALL_TIMEOUT_S))
case("add_prompts_point_nan", Code.INVALID_ARGUMENT, "coordinates must be finite")(
    lambda env: add_prompts(env, points=[point(math.nan, 5)]))
case("add_prompts_point_off_frame", Code.INVALID_ARGUMENT,
     r"must lie on the frame: x in \[0, 320\], y in \[0, 180\]")(
    lambda env: add_prompts(env, points=[point(VIDEO_W + 1, 5)]))
case("add_prompts_label_unknown", Code.INVALID_ARGUMENT, "labels must be 0 .negative. or 1")(
    lambda env: add_prompts(env, points=[point(5, 5, 9)]))
case("add_prompts_box_inverted", Code.INVALID_ARGUMENT, "x0 <= x1 and y0 <= y1")(
    lambda env: add_prompts(env, box=pb.Box(x0=100, y0=100, x1=10, y1=10)))
case("add_prompts_box_keeping_old_points", Code.INVALID_ARGUMENT, "clear_old_points")(
    lambda env: add_prompts(env, box=pb.Box(x0=10, y0=10, x1=100, y1=100),
                            clear_old_points=False))
case("add_prompts_nothing", Code.INVALID_ARGUMENT, "clicks, a box or a mask")(
    lambda env: add_prompts(env))
case("add_prompts_mask_and_points", Code.INVALID_ARGUMENT, "not both")(
    lambda env: add_prompts(env, points=[point(5, 5)],
                            mask=video_mask(rle_counts=encode_rle_counts([VIDEO_W * VIDEO_H]))))
case("mask_rle_wrong_size", Code.INVALID_ARGUMENT, "10x10, expected 320x180")(
    lambda env: add_prompts(env, mask=video_mask(height=10, width=10,
                                                 rle_counts=encode_rle_counts([100]))))
case("mask_rle_counts_short", Code.INVALID_ARGUMENT, "cover 150 pixels, the mask has 57600")(
    lambda env: add_prompts(env, mask=video_mask(rle_counts=encode_rle_counts([100, 50]))))
case("mask_rle_counts_long", Code.INVALID_ARGUMENT, "cover 57610 pixels, the mask has 57600")(
    lambda env: add_prompts(env, mask=video_mask(
        rle_counts=encode_rle_counts([VIDEO_W * VIDEO_H, 10]))))
case("mask_rle_negative_count", Code.INVALID_ARGUMENT, "negative|cover 57610 pixels")(
    lambda env: add_prompts(env, mask=video_mask(
        rle_counts=encode_rle_counts([VIDEO_W * VIDEO_H + 10, -10]))))
case("mask_rle_bad_characters", Code.INVALID_ARGUMENT, "invalid character in RLE counts")(
    lambda env: add_prompts(env, mask=video_mask(rle_counts="0~~ \x7f")))
case("mask_rle_truncated_group", Code.INVALID_ARGUMENT, "ends inside a count")(
    lambda env: add_prompts(env, mask=video_mask(rle_counts="P")))
case("mask_png_corrupt", Code.INVALID_ARGUMENT, "invalid PNG header")(
    lambda env: add_prompts(env, mask=video_mask(png=PNG_MAGIC + b"\0" * 64)))
case("mask_png_wrong_size", Code.INVALID_ARGUMENT, "32x32, expected 320x180")(
    lambda env: add_prompts(env, mask=video_mask(
        png=encode(Image.new("L", (32, 32), 255), "PNG"))))
case("mask_png_is_a_jpeg", Code.INVALID_ARGUMENT, "a PNG mask must be a PNG file")(
    lambda env: add_prompts(env, mask=video_mask(png=small_jpeg(VIDEO_W, VIDEO_H))))
case("mask_no_data", Code.INVALID_ARGUMENT, "rle_counts, png or logits")(
    lambda env: add_prompts(env, mask=video_mask()))


def seventeenth_object(env: Env) -> object:
    video = env.video_session(frame_bytes(i) for i in range(2))
    for obj in range(16):
        add_prompts(env, session=video, object_id=1000 + obj, points=[point(10 + obj, 10)])
    return add_prompts(env, session=video, object_id=-(2**63), points=[point(5, 5)])


case("object_id_past_object_limit", Code.INVALID_ARGUMENT, "at most 16 objects")(
    seventeenth_object)
case("remove_object_unknown", Code.NOT_FOUND, "object 424242 is not in this video")(
    lambda env: env.stub.RemoveObject(pb.RemoveObjectRequest(session=env.video,
                                                             object_id=424242),
                                      timeout=CALL_TIMEOUT_S))
case("clear_prompts_object_unknown", Code.NOT_FOUND, "is not in this video")(
    lambda env: env.stub.ClearPrompts(pb.ClearPromptsRequest(
        session=env.video, frame_index=0, object_id=-1), timeout=CALL_TIMEOUT_S))

# Video uploads ---------------------------------------------------------------------

case("upload_random_bytes", Code.INVALID_ARGUMENT, "cannot open <upload> as a video")(
    lambda env: upload(env, chunks(bytes(range(256)) * 400)))
case("upload_fake_mp4_header", Code.INVALID_ARGUMENT, "cannot open <upload> as a video")(
    lambda env: upload(env, chunks(b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41"
                                   + b"\0\0\x10\0mdat" + bytes(range(256)) * 16)))


def avi_bytes(tmp: Path, n: int) -> bytes:
    jpegs = [frame_bytes(i) for i in range(n)]
    return write_mjpeg_avi(tmp / f"clip{n}.avi", jpegs, VIDEO_W, VIDEO_H).read_bytes()


case("upload_truncated_avi", Code.INVALID_ARGUMENT, "cannot read the uploaded video")(
    lambda env: upload(env, chunks(avi_bytes(env.server.log.parent, VIDEO_N)[:600])))
case("upload_zero_frame_avi", Code.INVALID_ARGUMENT, "<upload> has no decodable frame")(
    lambda env: upload(env, chunks(
        write_mjpeg_avi(env.server.log.parent / "empty.avi", [b""], VIDEO_W, VIDEO_H)
        .read_bytes())))
case("upload_no_config_first", Code.INVALID_ARGUMENT, "must carry the config")(
    lambda env: upload(env, [pb.CreateVideoSessionRequest(frame=frame_bytes(0))]))
case("upload_nothing", Code.INVALID_ARGUMENT, "must carry the config")(
    lambda env: upload(env, []))
case("upload_config_twice", Code.INVALID_ARGUMENT, "config was sent twice")(
    lambda env: upload(env, [config(), pb.CreateVideoSessionRequest(frame=frame_bytes(0)),
                             config()]))
case("upload_empty_part", Code.INVALID_ARGUMENT, "empty CreateVideoSession message")(
    lambda env: upload(env, [config(), pb.CreateVideoSessionRequest()]))
case("upload_chunk_then_frame", Code.INVALID_ARGUMENT, "not both")(
    lambda env: upload(env, chunks(avi_bytes(env.server.log.parent, 2))
                       + [pb.CreateVideoSessionRequest(frame=frame_bytes(0))]))
case("upload_frames_of_two_sizes", Code.INVALID_ARGUMENT, "64x48 .WxH. but the video's first frame is 320x180")(
    lambda env: upload(env, [config(), pb.CreateVideoSessionRequest(frame=frame_bytes(0)),
                             pb.CreateVideoSessionRequest(frame=small_jpeg())]))
case("upload_frame_undecodable", Code.INVALID_ARGUMENT, "frame 0 .*unsupported image format")(
    lambda env: upload(env, [config(), pb.CreateVideoSessionRequest(frame=b"not an image")]))
case("upload_frame_over_message_limit", Code.RESOURCE_EXHAUSTED, "larger than max")(
    lambda env: upload(env, [config(), pb.CreateVideoSessionRequest(
        frame=JPEG_MAGIC + b"\0" * (MAX_MESSAGE_BYTES + 1024))]))
case("upload_message_not_protobuf", Code.INVALID_ARGUMENT, "cannot parse")(
    lambda env: upload_raw(env, [
        config().SerializeToString(),
        pb.CreateVideoSessionRequest(frame=frame_bytes(0)).SerializeToString(),
        b"\x1a\xff\xff\xff\xff\x0f" + frame_bytes(1)[:100],  # a frame field's length lies
        pb.CreateVideoSessionRequest(frame=frame_bytes(2)).SerializeToString()]))
case("upload_negative_long_video_window", Code.INVALID_ARGUMENT, "long_video_window")(
    lambda env: upload(env, [pb.CreateVideoSessionRequest(
        config=pb.VideoSessionConfig(long_video_window=-4)),
        pb.CreateVideoSessionRequest(frame=frame_bytes(0))]))
case("append_frame_of_another_size", Code.INVALID_ARGUMENT, "64x48 .WxH. but the video's first frame is 320x180")(
    lambda env: env.stub.AppendFrames(pb.AppendFramesRequest(
        session=env.video, frames=[small_jpeg()]), timeout=CALL_TIMEOUT_S))
case("append_frame_corrupt", Code.INVALID_ARGUMENT, "frame 8 .*invalid JPEG header")(
    lambda env: env.stub.AppendFrames(pb.AppendFramesRequest(
        session=env.video, frames=[frame_bytes(1)[:300]]), timeout=CALL_TIMEOUT_S))
case("append_frames_over_message_limit", Code.RESOURCE_EXHAUSTED, "larger than max")(
    lambda env: env.stub.AppendFrames(pb.AppendFramesRequest(
        session=env.video, frames=[b"\xff" * (MAX_MESSAGE_BYTES // 2)] * 3),
        timeout=CALL_TIMEOUT_S))
case("append_frames_to_file_session", Code.FAILED_PRECONDITION, "not from a video file")(
    lambda env: env.stub.AppendFrames(pb.AppendFramesRequest(
        session=upload(env, chunks(avi_bytes(env.server.log.parent, 2))).name,  # type: ignore
        frames=[frame_bytes(0)]), timeout=CALL_TIMEOUT_S))


# Deadlines -------------------------------------------------------------------------
# A deadline that has passed before the call leaves the client never reaches
# the server (gRPC fails it locally); one the server sees expired is one
# that passes while the call waits in the worker's queue. The server must
# then answer DEADLINE_EXCEEDED without running the call (its metrics count
# it, so the answer is the server's and not only the client's timer), and
# the call it waited behind still completes.


def requests_counted(env: Env, method: str, code: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{env.server.http_port}/metrics",
                                timeout=HEALTH_TIMEOUT_S) as r:
        body = r.read().decode()
    m = re.search(rf'sam2_requests_total{{method="{method}",code="{code}"}} (\d+)', body)
    return int(m.group(1)) if m else 0


def expires_in_queue(method: str, call: Callable[[Env], object]) -> Callable[[Env], object]:
    def run(env: Env) -> object:
        before = requests_counted(env, method, "DEADLINE_EXCEEDED")
        blocker = env.stub.GenerateMasks.future(
            pb.GenerateMasksRequest(session=env.image, points_per_side=BLOCKER_POINTS_PER_SIDE,
                                    points_per_batch=BLOCKER_POINTS_PER_BATCH,
                                    pred_iou_thresh=0, stability_score_thresh=0),
            timeout=CALL_TIMEOUT_S)
        time.sleep(BLOCKER_HEAD_START_S)
        try:
            return call(env)
        finally:
            assert not blocker.done(), "the blocking GenerateMasks ended too early"
            blocker.cancel()
            deadline = time.monotonic() + HEALTH_TIMEOUT_S
            while requests_counted(env, method, "DEADLINE_EXCEEDED") == before:
                assert time.monotonic() < deadline, f"the server never counted an expired {method}"
                time.sleep(0.05)
    return run


case("deadline_expires_queued_segment", Code.DEADLINE_EXCEEDED, "Deadline Exceeded")(
    expires_in_queue("Segment", lambda env: env.stub.Segment(env.click(),
                                                             timeout=QUEUED_TIMEOUT_S)))
case("deadline_expires_queued_create_image", Code.DEADLINE_EXCEEDED, "Deadline Exceeded")(
    expires_in_queue("CreateImageSession", lambda env: create_image(
        env, IMAGE.read_bytes(), timeout=QUEUED_TIMEOUT_S)))
case("deadline_expires_queued_propagate", Code.DEADLINE_EXCEEDED, "Deadline Exceeded")(
    expires_in_queue("PropagateVideo", lambda env: list(env.stub.PropagateVideo(
        pb.PropagateVideoRequest(session=env.video), timeout=QUEUED_TIMEOUT_S))))
case("deadline_expires_queued_upload", Code.DEADLINE_EXCEEDED, "Deadline Exceeded")(
    expires_in_queue("CreateVideoSession", lambda env: upload(
        env, [config(), pb.CreateVideoSessionRequest(frame=frame_bytes(0))],
        timeout=QUEUED_TIMEOUT_S)))


# --- the HTTP side: SageMaker's POST /invocations ------------------------------------
# The same checks behind the same model and sessions, over HTTP with JSON:
# the HTTP status HttpStatusOf gives the code, and the error body's code and
# message. JSON carries points and labels in separate lists, so lengths can
# disagree here (in the gRPC API a label is part of its point).


@dataclass
class HttpCase:
    id: str
    body: bytes
    status: int
    code: str
    gist: str
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


IMAGE_B64 = base64.b64encode(IMAGE.read_bytes()).decode()
ONE_CLICK: dict[str, Any] = {"points": [[5, 5]], "point_labels": [1]}

HTTP_CASES = [
    HttpCase("points_and_labels_of_other_lengths",
             json_body(image=IMAGE_B64, points=[[5, 5], [6, 6]], point_labels=[1]),
             400, "INVALID_ARGUMENT", "one label .* per point"),
    HttpCase("label_unknown", json_body(image=IMAGE_B64, points=[[5, 5]], point_labels=[7]),
             400, "INVALID_ARGUMENT", "point labels must be in -1..3"),
    HttpCase("label_not_an_integer",
             json_body(image=IMAGE_B64, points=[[5, 5]], point_labels=[1.5]),
             400, "INVALID_ARGUMENT", r"point_labels\[0\] must be 0 or 1"),
    HttpCase("coordinate_overflows_to_inf",
             json_body(image=IMAGE_B64, points=[[1e300, 5]], point_labels=[1]),
             400, "INVALID_ARGUMENT", "non-finite"),
    HttpCase("nan_literal", f'{{"image": "{IMAGE_B64[:64]}", "points": [[NaN, 5]]}}'.encode(),
             400, "INVALID_ARGUMENT", "not a JSON object"),
    HttpCase("not_json", b"{{{", 400, "INVALID_ARGUMENT", "not a JSON object"),
    HttpCase("json_array", b"[1, 2]", 400, "INVALID_ARGUMENT", "not a JSON object"),
    HttpCase("unknown_field", json_body(image=IMAGE_B64, pointz=[[5, 5]]),
             400, "INVALID_ARGUMENT", 'unknown field "pointz"'),
    HttpCase("box_of_three", json_body(image=IMAGE_B64, boxes=[[1, 2, 3]]),
             400, "INVALID_ARGUMENT", r"boxes\[0\] must be \[x0, y0, x1, y1\]"),
    HttpCase("image_not_base64", json_body(image="!!!!", **ONE_CLICK),
             400, "INVALID_ARGUMENT", "base64 string of a JPEG or PNG"),
    HttpCase("image_not_an_image",
             json_body(image=base64.b64encode(b"hello world").decode(), **ONE_CLICK),
             400, "INVALID_ARGUMENT", "unsupported image format"),
    HttpCase("raw_png_truncated", IMAGE.read_bytes()[:1000], 400, "INVALID_ARGUMENT",
             "cannot decode the PNG image", content_type="image/png"),
    HttpCase("content_type_unsupported", b"xx", 415, "INVALID_ARGUMENT",
             "unsupported Content-Type", content_type="text/plain"),
    HttpCase("automatic_options_out_of_range",
             json_body(image=IMAGE_B64, automatic={"points_per_side": 0}),
             400, "INVALID_ARGUMENT", "points_per_side must be in 1..1024"),
    HttpCase("session_id_forged", json_body(**ONE_CLICK), 400, "INVALID_ARGUMENT",
             "malformed session id", headers={"X-Amzn-SageMaker-Session-Id": "sessions/zz"}),
    HttpCase("session_of_another_instance", json_body(**ONE_CLICK), 404, "NOT_FOUND",
             "created by server instance otherreplica",
             headers={"X-Amzn-SageMaker-Session-Id": f"otherreplica-{'0' * 32}"}),
]


def post_invocation(env: Env, case: HttpCase) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", env.server.http_port,
                                      timeout=CALL_TIMEOUT_S)
    try:
        conn.request("POST", "/invocations", body=case.body,
                     headers={"Content-Type": case.content_type, **case.headers})
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        conn.close()


@pytest.mark.parametrize("bad", HTTP_CASES, ids=[c.id for c in HTTP_CASES])
def test_bad_invocation(holder: Holder, bad: HttpCase) -> None:
    env = holder.get()
    try:
        status, body = post_invocation(env, bad)
        error = body.get("error", {})
        assert (status, error.get("code")) == (bad.status, bad.code), f"{bad.id}: {status} {body}"
        assert re.search(bad.gist, error.get("message", "")), f"{bad.id}: {body}"
    finally:
        assert_still_serving(env, bad.id)
        conn = http.client.HTTPConnection("127.0.0.1", env.server.http_port,
                                          timeout=HEALTH_TIMEOUT_S)
        try:
            conn.request("GET", "/ping")
            assert conn.getresponse().status == 200, f"{bad.id}: /ping is not 200 afterwards"
        finally:
            conn.close()


def test_enough_cases() -> None:
    for cases in (CASES, HTTP_CASES):
        ids = [c.id for c in cases]
        assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 40


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input(holder: Holder, bad: Case) -> None:
    env = holder.get()
    env.extra_sessions.clear()
    try:
        with pytest.raises(grpc.RpcError) as raised:
            bad.call(env)
        error = raised.value
        code, details = error.code(), error.details() or ""
        assert code == bad.code, f"{bad.id}: got {code.name}: {details!r}, want {bad.code.name}"
        assert re.search(bad.gist, details), (
            f"{bad.id}: the message {details!r} lacks /{bad.gist}/")
        assert code not in (Code.UNKNOWN, Code.INTERNAL)
        # Messages go to clients: none names the server's files.
        assert not re.search(r"/tmp/|sam2-upload-", details), f"{bad.id}: {details!r}"
    finally:
        assert_still_serving(env, bad.id)
        for name in env.extra_sessions:
            try:
                env.stub.DeleteSession(pb.DeleteSessionRequest(name=name), timeout=CALL_TIMEOUT_S)
            except grpc.RpcError:
                pass  # deleted already or never created
