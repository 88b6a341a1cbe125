"""Sam2Client, ImageSession and VideoSession: the sam2.v1 API in Python.

Thread-safety: a Sam2Client (one gRPC channel) may be shared by threads; a
session object is a thin handle (its name and the last description the
server sent) and may be used from several threads as well — the server
serialises operations on one session and answers a conflicting one with
Aborted.

Routing: every call that names an existing session carries the session name
as gRPC metadata `x-sam2-session` (SESSION_HEADER), so that a session-affine
proxy in front of several replicas (deploy/proxy) sends it to the replica
that holds the session; server_info() and the create_* calls carry none.

Security: `credentials=tls_credentials(ca_cert=..., client_cert=...,
client_key=...)` for TLS and mutual TLS; `token=` sends
`authorization: Bearer <token>` (AUTHORIZATION_HEADER) on every call, unary
and streaming. A token is never part of an error message or of repr().
"""

from __future__ import annotations

import enum
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar, Union

import grpc
import numpy as np
import numpy.typing as npt
from google.protobuf import timestamp_pb2

from . import masks as _masks
from ._proto import pb, pb_grpc
from .errors import Aborted, NotFound, Sam2Error, from_rpc_error
from .results import (FrameMasks, GeneratedMask, ImageInfo, Limits, MaskArray,
                      MaskRef, PromptMasks, RemoveObjectResult, SegmentResult,
                      ServerInfo, VideoInfo, WorkerInfo)

MaskFormat = Literal["rle", "png", "logits"]
Direction = Literal["forward", "reverse", "both"]
# Encoded JPEG/PNG bytes, a path to such a file, or an (H, W, 3) RGB /
# (H, W) grayscale uint8 array (sent as PNG).
ImageLike = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", npt.NDArray[Any]]
PathLike = Union[str, "os.PathLike[str]"]
PointsLike = Union[Sequence[Sequence[float]], npt.NDArray[Any]]
BoxLike = Union[Sequence[float], npt.NDArray[Any]]

_MASK_FORMATS: dict[str, pb.MaskFormat] = {
    "rle": pb.MASK_FORMAT_RLE,
    "png": pb.MASK_FORMAT_PNG,
    "logits": pb.MASK_FORMAT_LOGITS,
}
_DIRECTIONS: dict[str, pb.Direction] = {
    "forward": pb.DIRECTION_FORWARD,
    "reverse": pb.DIRECTION_REVERSE,
    "both": pb.DIRECTION_BOTH,
}
# Video files are uploaded in chunks of this size (well below the server's
# 32 MiB message limit).
DEFAULT_CHUNK_BYTES = 1 << 20
# AppendFrames calls are split so that each request stays below this.
_APPEND_BATCH_BYTES = 16 << 20
# After this client cancelled a propagation, the server may still hold the
# session for the frame in progress; the session's next calls wait up to
# this long for it (retrying Aborted "session is busy").
SETTLE_AFTER_CANCEL_S = 10.0

_T = TypeVar("_T")

# The metadata key of the bearer token, and the token's bounds: printable
# ASCII without spaces (what metadata carries and the server accepts).
AUTHORIZATION_HEADER = "authorization"
MIN_TOKEN_BYTES = 16
MAX_TOKEN_BYTES = 512


def _check_token(token: str) -> None:
    """Raises ValueError for a malformed token (never quoting it)."""
    if not MIN_TOKEN_BYTES <= len(token) <= MAX_TOKEN_BYTES:
        raise ValueError(f"a token is {MIN_TOKEN_BYTES} to {MAX_TOKEN_BYTES} characters, "
                         f"this one has {len(token)}")
    if not all("!" <= ch <= "~" for ch in token):
        raise ValueError("a token is printable ASCII without spaces; this one is not")


def tls_credentials(ca_cert: PathLike | bytes | None = None,
                    client_cert: PathLike | bytes | None = None,
                    client_key: PathLike | bytes | None = None) -> grpc.ChannelCredentials:
    """TLS channel credentials for Sam2Client(credentials=...).

    `ca_cert`: the CA bundle that signs the server's certificate (a PEM file's
    path, or its bytes); None: the system's root CAs. For mutual TLS,
    `client_cert` (the client's certificate chain) and `client_key` (its
    unencrypted private key), both or neither, paths or PEM bytes.
    """
    if (client_cert is None) != (client_key is None):
        raise ValueError("client_cert and client_key go together (mutual TLS needs both)")

    def read(value: PathLike | bytes | None) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        return Path(value).read_bytes()

    return grpc.ssl_channel_credentials(root_certificates=read(ca_cert),
                                        private_key=read(client_key),
                                        certificate_chain=read(client_cert))


# The metadata key that names the session a call is about (see the module
# docstring). Names longer than this, or not printable ASCII (which metadata
# cannot carry), cannot be a server's: they go without the header.
SESSION_HEADER = "x-sam2-session"
MAX_ROUTED_SESSION_NAME_BYTES = 256


def routing_metadata(session: str | None) -> tuple[tuple[str, str], ...]:
    """The routing header for a call on `session` (empty when there is none,
    or when the name cannot travel as metadata)."""
    if (not session or len(session) > MAX_ROUTED_SESSION_NAME_BYTES
            or not all(" " <= ch <= "~" for ch in session)):
        return ()
    return ((SESSION_HEADER, session),)


class _DefaultType(enum.Enum):
    DEFAULT = 0


# "Use the client's timeout" (None means no deadline, so it cannot be that).
_Default = _DefaultType.DEFAULT
Timeout = Union[float, None, Literal[_DefaultType.DEFAULT]]


def _mask_format(value: str) -> pb.MaskFormat:
    try:
        return _MASK_FORMATS[value]
    except KeyError:
        raise ValueError(f"mask_format must be one of {sorted(_MASK_FORMATS)}, got {value!r}") from None


def _datetime(ts: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    if not present:
        return None
    return ts.ToDatetime(tzinfo=timezone.utc)


def _read_image(image: ImageLike) -> bytes:
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, np.ndarray):
        return _masks.image_to_png(image)
    if isinstance(image, (str, os.PathLike)):
        return Path(image).read_bytes()
    raise TypeError(
        f"an image is encoded bytes, a path or a uint8 array, not {type(image).__name__}")


def _decode_mask(mask: pb.Mask) -> MaskArray:
    """A sam2.v1.Mask message to a NumPy array."""
    kind = mask.WhichOneof("data")
    if kind == "rle_counts":
        return _masks.rle_to_mask(mask.rle_counts, mask.height, mask.width)
    if kind == "png":
        return _masks.png_to_mask(mask.png, mask.height, mask.width)
    if kind == "logits":
        return _masks.logits_to_array(mask.logits, mask.height, mask.width)
    raise ValueError("the server sent a mask without data")


def _decode_frame(frame: pb.FrameMasks) -> FrameMasks:
    masks: dict[int, MaskArray] = {}
    scores: dict[int, float] = {}
    for obj in frame.objects:
        masks[int(obj.object_id)] = _decode_mask(obj.mask)
        scores[int(obj.object_id)] = float(obj.object_score)
    return FrameMasks(int(frame.frame_index), masks, scores)


def _points(points: PointsLike | None, labels: Sequence[int] | npt.NDArray[Any] | None) -> list[pb.Point]:
    if points is None:
        if labels is not None and len(labels) > 0:
            raise ValueError("labels given without points")
        return []
    pts = np.asarray(points, dtype=np.float64)
    if pts.size == 0:
        return []
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must be (x, y) pairs, got shape {pts.shape}")
    if labels is None:
        labs = np.ones(len(pts), dtype=np.int64)  # foreground clicks
    else:
        labs = np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(labs) != len(pts):
            raise ValueError(f"{len(pts)} points but {len(labs)} labels")
    return [pb.Point(x=float(x), y=float(y), label=int(label))
            for (x, y), label in zip(pts.tolist(), labs.tolist())]


def _box(box: BoxLike) -> pb.Box:
    b = np.asarray(box, dtype=np.float64).reshape(-1)
    if b.shape != (4,):
        raise ValueError(f"a box is (x0, y0, x1, y1), got {np.shape(box)}")
    x0, y0, x1, y1 = b.tolist()
    return pb.Box(x0=x0, y0=y0, x1=x1, y1=y1)


def _boxes(boxes: BoxLike | Sequence[BoxLike] | None) -> list[pb.Box]:
    if boxes is None:
        return []
    b = np.asarray(boxes, dtype=np.float64)
    if b.size == 0:
        return []
    if b.ndim == 1:
        b = b.reshape(1, -1)  # one box
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes are (x0, y0, x1, y1) rows, got shape {b.shape}")
    return [_box(row) for row in b]


def _mask_proto(mask: npt.ArrayLike) -> pb.Mask:
    """A 2-D binary mask (nonzero = inside) as an RLE sam2.v1.Mask."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"a mask must be 2-D (height, width), got shape {m.shape}")
    return pb.Mask(height=m.shape[0], width=m.shape[1], rle_counts=_masks.mask_to_rle(m))


class Sam2Client:
    """A connection to a SAM 2 service (sam2.v1.Sam2Service).

    Args:
      address: "host:port".
      timeout: deadline of each call in seconds (None: no deadline). Streams
        (video upload, propagation) use `stream_timeout` instead.
      max_retries: how many times a call that failed with UNAVAILABLE (server
        unreachable or draining) is sent again, with exponential backoff; no
        other status is retried. A call is sent at most max_retries + 1 times.
      credentials: channel credentials for TLS, e.g.
        tls_credentials(ca_cert="ca.pem") (mutual TLS: with client_cert and
        client_key); None: plaintext.
      stream_timeout: deadline of a whole upload or propagation stream
        (None, the default: no deadline; break out of a propagation to stop).
      retry_backoff: the first backoff, in seconds; it doubles per retry (with
        jitter) up to max_backoff.
      metadata: sent with every call.
      token: a bearer token sent with every call as
        `authorization: Bearer <token>` (printable ASCII without spaces, 16 to
        512 characters); None: none. Without TLS it travels in clear: use it
        so only on loopback or a trusted network.
      options: extra gRPC channel arguments.
      max_receive_message_bytes: the largest response accepted (video logits
        can be large).
    """

    def __init__(self, address: str, timeout: float | None = 60.0, max_retries: int = 3,
                 credentials: grpc.ChannelCredentials | None = None, *,
                 stream_timeout: float | None = None, retry_backoff: float = 0.1,
                 max_backoff: float = 5.0,
                 metadata: Sequence[tuple[str, str]] | None = None,
                 options: Sequence[tuple[str, Any]] | None = None,
                 max_receive_message_bytes: int = 256 << 20,
                 token: str | None = None) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if token is not None:
            _check_token(token)
        self.address = address
        self.timeout = timeout
        self.stream_timeout = stream_timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.max_backoff = max_backoff
        self.metadata: tuple[tuple[str, str], ...] = tuple(metadata or ())
        # Kept apart from `metadata` so that the token is not shown with it.
        self._token_metadata: tuple[tuple[str, str], ...] = (
            ((AUTHORIZATION_HEADER, f"Bearer {token}"),) if token is not None else ())
        channel_options = [("grpc.max_receive_message_length", max_receive_message_bytes),
                           ("grpc.max_send_message_length", -1)]
        channel_options.extend(options or ())
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=channel_options)
        else:
            self._channel = grpc.secure_channel(address, credentials, options=channel_options)
        self._stub = pb_grpc.Sam2ServiceStub(self._channel)  # type: ignore[no-untyped-call]

    # --- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        self._channel.close()

    def __enter__(self) -> Sam2Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Sam2Client({self.address!r})"

    # --- plumbing ------------------------------------------------------------

    def _backoff(self, retry: int) -> float:
        delay = min(self.max_backoff, self.retry_backoff * (2 ** (retry - 1)))
        return float(delay * random.uniform(0.5, 1.0))

    def _with_retries(self, method: str, send: Callable[[], _T]) -> _T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return send()
            except grpc.RpcError as e:
                code = e.code() if hasattr(e, "code") else None
                if code == grpc.StatusCode.UNAVAILABLE and attempt <= self.max_retries:
                    time.sleep(self._backoff(attempt))
                    continue
                raise from_rpc_error(e, method, attempt) from None

    def _call_metadata(self, session: str | None) -> tuple[tuple[str, str], ...]:
        """The metadata of a call: the client's own and its token, plus the
        routing header when the call names `session`."""
        return self.metadata + self._token_metadata + routing_metadata(session)

    def _unary(self, method: str, request: Any, timeout: Timeout = _Default,
               session: str | None = None) -> Any:
        rpc = getattr(self._stub, method)
        t = self.timeout if timeout is _Default else timeout
        metadata = self._call_metadata(session)
        return self._with_retries(
            method, lambda: rpc(request, timeout=t, metadata=metadata))

    # --- server --------------------------------------------------------------

    def server_info(self) -> ServerInfo:
        """What the server runs: model, devices, limits, and whether its masks
        are meaningless (the bundled random-weight test model)."""
        r = self._unary("GetServerInfo", pb.GetServerInfoRequest())
        lim = r.limits
        limits = Limits(
            max_message_bytes=lim.max_message_bytes, max_image_side=lim.max_image_side,
            max_image_pixels=lim.max_image_pixels, max_points=lim.max_points,
            max_boxes=lim.max_boxes, max_objects=lim.max_objects,
            max_video_frames=lim.max_video_frames, max_video_side=lim.max_video_side,
            max_video_upload_bytes=lim.max_video_upload_bytes,
            idle_ttl_seconds=lim.idle_ttl_seconds,
            absolute_ttl_seconds=lim.absolute_ttl_seconds, max_sessions=lim.max_sessions)
        return ServerInfo(
            instance_id=r.instance_id, model_variant=r.model_variant, checkpoint=r.checkpoint,
            meaningless_masks=r.meaningless_masks, warning=r.warning, image_size=r.image_size,
            devices=tuple(r.devices), limits=limits, version=r.version,
            workers=tuple(
                WorkerInfo(device=w.device, precision=w.precision,
                           memory_total_bytes=w.memory_total_bytes,
                           memory_free_bytes=w.memory_free_bytes,
                           session_budget_bytes=w.session_budget_bytes,
                           relative_speed=w.relative_speed, encoder_ms=w.encoder_ms)
                for w in r.workers))

    # --- image sessions ------------------------------------------------------

    def create_image_session(self, image: ImageLike, *,
                             timeout: Timeout = _Default) -> ImageSession:
        """Uploads an image and computes its embedding (the expensive step).

        `image`: JPEG/PNG bytes, a path to such a file, or an (H, W, 3) RGB
        uint8 array (sent as PNG).
        """
        data = _read_image(image)
        r = self._unary("CreateImageSession", pb.CreateImageSessionRequest(image=data), timeout)
        return ImageSession(self, r)

    def get_image_session(self, name: str) -> ImageSession:
        """A handle on an existing image session ("sessions/<id>")."""
        return ImageSession(self, self._unary("GetImageSession", pb.GetSessionRequest(name=name),
                                              session=name))

    # --- video sessions ------------------------------------------------------

    def create_video_session(self, video: PathLike | bytes | Sequence[ImageLike], *,
                             long_video_window: int = 0,
                             chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                             timeout: Timeout = _Default) -> VideoSession:
        """Uploads a video and opens a tracking session on it.

        `video`: a path to a video file (MP4, AVI, ... as the server's FFmpeg
        reads it; uploaded in chunks) or its bytes; a directory of frames
        (its *.jpg / *.jpeg / *.png files in name order); or a sequence of
        frames, each JPEG/PNG bytes, a path, or an RGB uint8 array. An empty
        sequence opens an empty frames session that append_frames fills.
        `long_video_window`: keep memory features only for this many frames
        around the ones being tracked (bounded memory; same masks). 0: all.
        """
        if chunk_bytes <= 0:
            raise ValueError("chunk_bytes must be positive")
        config = pb.CreateVideoSessionRequest(
            config=pb.VideoSessionConfig(long_video_window=long_video_window))
        requests: Callable[[], Iterator[pb.CreateVideoSessionRequest]]
        if isinstance(video, (bytes, bytearray, memoryview)):
            blob = bytes(video)

            def requests() -> Iterator[pb.CreateVideoSessionRequest]:
                yield config
                for i in range(0, len(blob), chunk_bytes):
                    yield pb.CreateVideoSessionRequest(video_chunk=blob[i:i + chunk_bytes])
        elif isinstance(video, (str, os.PathLike)) and Path(video).is_dir():
            folder = Path(video)
            files = sorted(p for p in folder.iterdir()
                           if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
            if not files:
                raise ValueError(f"{folder} holds no .jpg/.jpeg/.png frames")
            return self.create_video_session(
                files, long_video_window=long_video_window, timeout=timeout)
        elif isinstance(video, (str, os.PathLike)):
            path = Path(video)
            if not path.is_file():
                raise FileNotFoundError(f"no video file {path}")

            def requests() -> Iterator[pb.CreateVideoSessionRequest]:
                yield config
                with open(path, "rb") as f:
                    while chunk := f.read(chunk_bytes):
                        yield pb.CreateVideoSessionRequest(video_chunk=chunk)
        else:
            frames = list(video)
            for frame in frames:
                if not isinstance(frame, (bytes, bytearray, memoryview, str, os.PathLike,
                                          np.ndarray)):
                    raise TypeError(f"a frame is encoded bytes, a path or a uint8 array, "
                                    f"not {type(frame).__name__}")
                if isinstance(frame, np.ndarray):
                    _check_image_array(frame)

            def requests() -> Iterator[pb.CreateVideoSessionRequest]:
                yield config
                for frame in frames:
                    yield pb.CreateVideoSessionRequest(frame=_read_image(frame))

        t = self.stream_timeout if timeout is _Default else timeout
        rpc = self._stub.CreateVideoSession
        r = self._with_retries(
            "CreateVideoSession",
            lambda: rpc(requests(), timeout=t, metadata=self._call_metadata(None)))
        return VideoSession(self, r)

    def get_video_session(self, name: str) -> VideoSession:
        """A handle on an existing video session ("sessions/<id>")."""
        return VideoSession(self, self._unary("GetVideoSession", pb.GetSessionRequest(name=name),
                                              session=name))

    def delete_session(self, name: str) -> None:
        """Deletes an image or video session by name (NotFound if gone)."""
        self._unary("DeleteSession", pb.DeleteSessionRequest(name=name), session=name)


def _check_image_array(a: npt.NDArray[Any]) -> None:
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise ValueError(
            f"an image array must be (H, W, 3) RGB or (H, W) uint8, got {a.shape} {a.dtype}")


class _Session:
    """What image and video sessions share: a name, delete, context manager."""

    def __init__(self, client: Sam2Client, name: str) -> None:
        self.client = client
        self.name = name

    def delete(self, missing_ok: bool = False) -> None:
        """Deletes the session on the server. NotFound when it is already
        gone (expired, evicted, deleted), unless missing_ok."""
        try:
            self.client.delete_session(self.name)
        except NotFound:
            if not missing_ok:
                raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.delete(missing_ok=True)
        except Sam2Error:
            if exc is None:
                raise  # never hide the exception that ended the block

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class ImageSession(_Session):
    """An image embedded once on the server, prompted many times.

    Use as a context manager to delete it on exit. `height`, `width`,
    `expire_time` are from the server's last description (see info()).
    """

    def __init__(self, client: Sam2Client, proto: pb.ImageSession) -> None:
        super().__init__(client, proto.name)
        self._update(proto)

    def _update(self, p: pb.ImageSession) -> None:
        self.height: int = p.height
        self.width: int = p.width
        self.bytes_held: int = p.bytes_held
        self.create_time = _datetime(p.create_time, p.HasField("create_time"))
        self.expire_time = _datetime(p.expire_time, p.HasField("expire_time"))

    def __enter__(self) -> ImageSession:
        return self

    def info(self) -> ImageInfo:
        """The session as the server describes it now (NotFound when gone)."""
        p = self.client._unary("GetImageSession", pb.GetSessionRequest(name=self.name),
                               session=self.name)
        self._update(p)
        return ImageInfo(name=p.name, height=p.height, width=p.width,
                         bytes_held=p.bytes_held, create_time=self.create_time,
                         expire_time=self.expire_time)

    def segment(self, points: PointsLike | None = None,
                labels: Sequence[int] | npt.NDArray[Any] | None = None,
                boxes: BoxLike | Sequence[BoxLike] | None = None,
                mask_input: MaskRef | npt.NDArray[Any] | None = None,
                multimask: bool = True, mask_format: MaskFormat = "rle") -> SegmentResult:
        """Masks for clicks, boxes and/or a mask prompt.

        points: (x, y) pixel pairs; labels: 1 foreground (the default for
          every point), 0 background, 2/3 box corners.
        boxes: one (x0, y0, x1, y1) box, or several (one prompt set each;
          points are not allowed with several boxes).
        mask_input: a MaskRef to an earlier result's mask (`result.ref()`),
          or low-resolution float32 logits (image_size/4 square).
        multimask: three candidate masks per prompt set instead of one.
        mask_format: "rle" / "png" (bool masks at the image's size) or
          "logits" (float32 low-resolution logits).
        """
        request = pb.SegmentRequest(
            session=self.name, points=_points(points, labels), boxes=_boxes(boxes),
            multimask_output=multimask, mask_format=_mask_format(mask_format))
        if isinstance(mask_input, MaskRef):
            request.mask_input.previous.CopyFrom(pb.MaskReference(
                result_id=mask_input.result_id, prompt_index=mask_input.prompt_index,
                mask_index=mask_input.mask_index))
        elif mask_input is not None:
            logits = np.asarray(mask_input, dtype=np.float32)
            if logits.ndim != 2:
                raise ValueError(f"mask_input logits must be 2-D, got shape {logits.shape}")
            request.mask_input.logits.CopyFrom(pb.Mask(
                height=logits.shape[0], width=logits.shape[1],
                logits=_masks.array_to_logits(logits)))
        r = self.client._unary("Segment", request, session=self.name)
        prompts = tuple(
            PromptMasks(masks=np.stack([_decode_mask(m) for m in p.masks]),
                        scores=np.asarray(p.iou_scores, dtype=np.float32))
            for p in r.prompts)
        if r.HasField("expire_time"):
            self.expire_time = _datetime(r.expire_time, True)
        return SegmentResult(prompts=prompts, result_id=int(r.result_id),
                             expire_time=self.expire_time)

    def generate_masks(self, *, points_per_side: int | None = None,
                       points_per_batch: int | None = None,
                       pred_iou_thresh: float | None = None,
                       stability_score_thresh: float | None = None,
                       stability_score_offset: float | None = None,
                       box_nms_thresh: float | None = None,
                       crop_n_layers: int | None = None,
                       crop_nms_thresh: float | None = None,
                       crop_overlap_ratio: float | None = None,
                       crop_n_points_downscale_factor: int | None = None,
                       min_mask_region_area: int | None = None,
                       use_m2m: bool | None = None,
                       multimask_output: bool | None = None,
                       mask_format: Literal["rle", "png"] = "rle",
                       timeout: Timeout = _Default) -> list[GeneratedMask]:
        """Automatic masks for the whole image (SAM2AutomaticMaskGenerator);
        options left None take the reference's defaults."""
        if mask_format not in ("rle", "png"):
            raise ValueError("generated masks come as 'rle' or 'png', not logits")
        options: dict[str, Any] = {
            "points_per_side": points_per_side, "points_per_batch": points_per_batch,
            "pred_iou_thresh": pred_iou_thresh,
            "stability_score_thresh": stability_score_thresh,
            "stability_score_offset": stability_score_offset,
            "box_nms_thresh": box_nms_thresh, "crop_n_layers": crop_n_layers,
            "crop_nms_thresh": crop_nms_thresh, "crop_overlap_ratio": crop_overlap_ratio,
            "crop_n_points_downscale_factor": crop_n_points_downscale_factor,
            "min_mask_region_area": min_mask_region_area, "use_m2m": use_m2m,
            "multimask_output": multimask_output,
        }
        request = pb.GenerateMasksRequest(
            session=self.name, mask_format=_mask_format(mask_format),
            **{k: v for k, v in options.items() if v is not None})
        r = self.client._unary("GenerateMasks", request, timeout, session=self.name)
        if r.HasField("expire_time"):
            self.expire_time = _datetime(r.expire_time, True)
        out: list[GeneratedMask] = []
        for g in r.masks:
            bbox = tuple(float(v) for v in g.bbox)
            if len(bbox) != 4:
                raise ValueError(f"the server sent a bbox of {len(bbox)} values")
            out.append(GeneratedMask(
                mask=_decode_mask(g.mask), bbox=(bbox[0], bbox[1], bbox[2], bbox[3]),
                area=int(g.area), predicted_iou=float(g.predicted_iou),
                stability_score=float(g.stability_score),
                point=(float(g.point_x), float(g.point_y)),
                crop_box=tuple(int(v) for v in g.crop_box)))
        return out


class VideoSession(_Session):
    """A video with its tracking state on the server.

    Use as a context manager to delete it on exit. `num_frames`, `height`,
    `width`, `object_ids` are from the server's last description (see info()).
    """

    def __init__(self, client: Sam2Client, proto: pb.VideoSession) -> None:
        super().__init__(client, proto.name)
        self._settle_until = 0.0
        self._update(proto)

    def __enter__(self) -> VideoSession:
        return self

    def _update(self, p: pb.VideoSession) -> VideoInfo:
        self.num_frames: int = p.num_frames
        self.height: int = p.height
        self.width: int = p.width
        self.object_ids: tuple[int, ...] = tuple(int(i) for i in p.object_ids)
        self.source: str = p.source
        self.expire_time = _datetime(p.expire_time, p.HasField("expire_time"))
        return VideoInfo(
            name=p.name, num_frames=p.num_frames, height=p.height, width=p.width,
            object_ids=self.object_ids,
            prompted_frames={int(f.object_id): tuple(int(i) for i in f.frame_indices)
                             for f in p.prompted_frames},
            bytes_held=p.bytes_held, source=p.source,
            create_time=_datetime(p.create_time, p.HasField("create_time")),
            expire_time=self.expire_time)

    def _call(self, method: str, request: Any) -> Any:
        """A unary call on this session; right after a cancelled propagation
        it waits out the frame the server was still tracking."""
        delay = 0.005
        while True:
            try:
                return self.client._unary(method, request, session=self.name)
            except Aborted:
                if time.monotonic() >= self._settle_until:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

    def _note_cancelled(self) -> None:
        self._settle_until = time.monotonic() + SETTLE_AFTER_CANCEL_S

    def info(self) -> VideoInfo:
        """The session as the server describes it now (NotFound when gone)."""
        return self._update(self._call("GetVideoSession", pb.GetSessionRequest(name=self.name)))

    def append_frames(self, frames: Sequence[ImageLike]) -> VideoInfo:
        """Adds frames (same size as the first) to a session created from
        frames; large batches are split over several calls."""
        batch: list[bytes] = []
        size = 0
        info: VideoInfo | None = None
        for frame in frames:
            data = _read_image(frame)
            if batch and size + len(data) > _APPEND_BATCH_BYTES:
                info = self._update(self._call("AppendFrames", pb.AppendFramesRequest(
                    session=self.name, frames=batch)))
                batch, size = [], 0
            batch.append(data)
            size += len(data)
        if batch or info is None:
            info = self._update(self._call("AppendFrames", pb.AppendFramesRequest(
                session=self.name, frames=batch)))
        return info

    def add_prompts(self, frame: int, obj_id: int, points: PointsLike | None = None,
                    labels: Sequence[int] | npt.NDArray[Any] | None = None,
                    box: BoxLike | None = None, mask: npt.ArrayLike | None = None,
                    clear_old_points: bool = True,
                    mask_format: MaskFormat = "rle") -> FrameMasks:
        """Clicks and/or one box, or a mask, for object `obj_id` on `frame`
        (a new id adds an object). Returns that frame's masks of every object.

        mask: a 2-D binary array (nonzero = object) at the video's size,
          instead of clicks (add_new_mask).
        """
        request = pb.AddPromptsRequest(
            session=self.name, frame_index=frame, object_id=obj_id,
            points=_points(points, labels), clear_old_points=clear_old_points,
            mask_format=_mask_format(mask_format))
        if box is not None:
            request.box.CopyFrom(_box(box))
        if mask is not None:
            request.mask.CopyFrom(_mask_proto(mask))
        return _decode_frame(self._call("AddPrompts", request))

    def propagate(self, start_frame: int | None = None, direction: Direction = "forward",
                  max_frames: int | None = None, mask_format: MaskFormat = "rle",
                  timeout: Timeout = _Default) -> Propagation:
        """Tracks every object through the video, yielding
        `(frame_index, {obj_id: mask}, {obj_id: object_score})` per frame as
        the server computes it (a FrameMasks named tuple).

        start_frame: default the earliest prompted frame. direction:
        "forward", "reverse" or "both" (forward, then backward from the start
        frame). max_frames: at most this many frames past the start, per
        direction. Breaking out of the loop (or cancel()/close(), or leaving a
        `with` block) cancels the stream: the server stops within a frame and
        the session stays usable.
        """
        try:
            dir_value = _DIRECTIONS[direction]
        except KeyError:
            raise ValueError(
                f"direction must be one of {sorted(_DIRECTIONS)}, got {direction!r}") from None
        request = pb.PropagateVideoRequest(session=self.name, direction=dir_value,
                                           mask_format=_mask_format(mask_format))
        if start_frame is not None:
            request.start_frame = start_frame
        if max_frames is not None:
            request.max_frames = max_frames
        t = self.client.stream_timeout if timeout is _Default else timeout
        return Propagation(self, request, t)

    def clear_prompts(self, frame: int, obj_id: int,
                      mask_format: MaskFormat = "rle") -> FrameMasks:
        """Removes the object's prompts on one frame; returns the frame's masks."""
        return _decode_frame(self._call("ClearPrompts", pb.ClearPromptsRequest(
            session=self.name, frame_index=frame, object_id=obj_id,
            mask_format=_mask_format(mask_format))))

    def remove_object(self, obj_id: int, mask_format: MaskFormat = "rle") -> RemoveObjectResult:
        """Forgets one object; returns the objects left and the frames where
        it had prompts, with the remaining objects' masks recomputed."""
        r = self._call("RemoveObject", pb.RemoveObjectRequest(
            session=self.name, object_id=obj_id, mask_format=_mask_format(mask_format)))
        self.object_ids = tuple(int(i) for i in r.object_ids)
        return RemoveObjectResult(object_ids=self.object_ids,
                                  updated_frames=tuple(_decode_frame(f) for f in r.updated_frames))

    def reset(self) -> VideoInfo:
        """Forgets every object, prompt and tracked mask; keeps the frames."""
        return self._update(self._call("ResetVideoSession",
                                       pb.ResetVideoSessionRequest(session=self.name)))


class Propagation(Iterator[FrameMasks]):
    """The stream of one VideoSession.propagate() call: an iterator of
    FrameMasks. `frames_done` / `frames_total` give the progress the server
    reports. cancel() (also close(), leaving a `with` block, or dropping the
    iterator, as `break` out of a for loop does) stops the stream.

    The call starts on the first next(); an UNAVAILABLE before the first
    frame is retried like a unary call.
    """

    def __init__(self, session: VideoSession, request: pb.PropagateVideoRequest,
                 timeout: float | None) -> None:
        self.session = session
        self._request = request
        self._timeout = timeout
        self._call: Any = None
        self._done = False
        self._attempts = 0
        self.frames_done = 0
        self.frames_total = 0

    def __iter__(self) -> Propagation:
        return self

    def _start(self) -> None:
        self._attempts += 1
        client = self.session.client
        self._call = client._stub.PropagateVideo(
            self._request, timeout=self._timeout,
            metadata=client._call_metadata(self._request.session))

    def __next__(self) -> FrameMasks:
        if self._done:
            raise StopIteration
        client = self.session.client
        while True:
            if self._call is None:
                self._start()
            try:
                message = next(self._call)
            except StopIteration:
                self._done = True
                raise
            except grpc.RpcError as e:
                code = e.code() if hasattr(e, "code") else None
                if (code == grpc.StatusCode.UNAVAILABLE and self.frames_done == 0
                        and self._attempts <= client.max_retries):
                    time.sleep(client._backoff(self._attempts))
                    self._call = None
                    continue
                if (code == grpc.StatusCode.ABORTED and self.frames_done == 0
                        and time.monotonic() < self.session._settle_until):
                    time.sleep(0.02)  # an earlier cancelled stream still ends
                    self._call = None
                    continue
                self._done = True
                raise from_rpc_error(e, "PropagateVideo", self._attempts) from None
            self.frames_done = int(message.frames_done)
            self.frames_total = int(message.frames_total)
            return _decode_frame(message.frame)

    def cancel(self) -> None:
        """Stops the stream (no-op once it has ended)."""
        if self._done:
            return
        self._done = True
        if self._call is not None:
            self._call.cancel()
            self.session._note_cancelled()

    close = cancel

    def __enter__(self) -> Propagation:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cancel()

    def __del__(self) -> None:
        try:
            self.cancel()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
