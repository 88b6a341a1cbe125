#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz tests under tests/fuzz/corpus/.

The seeds are committed (the fuzz tests never run this script); it records
how they were made and remakes them byte for byte:

  .venv-client/bin/python tests/fuzz/make_seeds.py

Needs Pillow and the generated sam2.v1 stubs (clients/python/build_stubs.py),
both in the client's virtual environment. The pickle reader's seeds are
written by hand and crash regressions are saved fuzz inputs: this script
leaves both alone.
Each seed is small (a few hundred bytes): libFuzzer mutates small inputs
fastest.
"""

from __future__ import annotations

import collections
import functools
import io
import json
import pickle
import struct
import sys
import types
import zipfile
import zlib
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS = HERE / "corpus"
sys.path.insert(0, str(REPO / "clients" / "python"))
from sam2_client._generated.sam2.v1 import sam2_pb2 as pb  # noqa: E402
from sam2_client.masks import encode_rle_counts  # noqa: E402


def write(target: str, name: str, data: bytes) -> None:
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def encode(image: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def gradient(mode: str, w: int, h: int) -> Image.Image:
    image = Image.new("RGB", (w, h))
    image.putdata([((x * 37) % 256, (y * 53) % 256, (x * y) % 256)
                   for y in range(h) for x in range(w)])
    return image.convert(mode)


# --- image_io ----------------------------------------------------------------------


def image_seeds() -> None:
    write("image_io", "rgb.png", encode(gradient("RGB", 12, 9), "PNG"))
    write("image_io", "gray.png", encode(gradient("L", 9, 12), "PNG"))
    write("image_io", "palette.png", encode(gradient("P", 10, 10), "PNG"))
    write("image_io", "rgba.png", encode(gradient("RGBA", 8, 8), "PNG"))
    write("image_io", "rgb.jpg", encode(gradient("RGB", 16, 8), "JPEG", quality=50))
    write("image_io", "gray.jpg", encode(gradient("L", 8, 16), "JPEG", quality=50))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees
    write("image_io", "rotated.jpg",
          encode(gradient("RGB", 16, 8), "JPEG", quality=50, exif=exif.tobytes()))
    write("image_io", "progressive.jpg",
          encode(gradient("RGB", 16, 16), "JPEG", quality=50, progressive=True))


# --- rle and mask prompts ----------------------------------------------------------


def rle_seeds() -> None:
    # Two size bytes (small sides: 1 + byte % 64), then the counts string.
    write("rle", "empty_4x5", bytes([3, 4]) + encode_rle_counts([20]).encode())
    write("rle", "full_4x5", bytes([3, 4]) + encode_rle_counts([0, 20]).encode())
    write("rle", "runs_8x8", bytes([7, 7]) + encode_rle_counts([3, 5, 10, 2, 40, 4]).encode())
    write("rle", "large_side", bytes([0xFF, 0xFF]) + encode_rle_counts([8192 * 8192]).encode())


def mask_seeds() -> None:
    # Encoding (0 RLE, 1 PNG, 2 logits), declared height/width, expected
    # height/width (1 + byte % 64), then the data.
    write("mask_encoding", "rle_6x5",
          bytes([0, 5, 4, 5, 4]) + encode_rle_counts([7, 9, 14]).encode())
    png = encode(Image.new("L", (4, 6), 255), "PNG")
    write("mask_encoding", "png_6x4", bytes([1, 5, 3, 5, 3]) + png)
    write("mask_encoding", "logits_2x3",
          bytes([2, 1, 2, 1, 2]) + struct.pack("<6f", -1, 0.5, 2, -3, 0, 7))


# --- safetensors ---------------------------------------------------------------------


def safetensors_file(tensors: dict[str, tuple[str, list[int], bytes]],
                     metadata: dict[str, str] | None = None) -> bytes:
    header: dict[str, object] = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds() -> None:
    write("safetensors", "f32_and_i64.safetensors", safetensors_file({
        "w": ("F32", [2, 2], struct.pack("<4f", 1, -2, 3.5, 0)),
        "n": ("I64", [3], struct.pack("<3q", 1, -1, 7))}, {"format": "pt"}))
    write("safetensors", "bool_bf16_scalar.safetensors", safetensors_file({
        "mask": ("BOOL", [2, 1], b"\x01\x00"),
        "h": ("BF16", [2], b"\x80\x3f\x00\x40"),
        "s": ("F16", [], b"\x00\x3c")}))
    write("safetensors", "empty.safetensors", safetensors_file({}))


# --- torch.save checkpoints ------------------------------------------------------------


# A fixed timestamp keeps the archives byte for byte the same.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class _StorageRef:
    def __init__(self, key: str, dtype: type, numel: int) -> None:
        self.key, self.dtype, self.numel = key, dtype, numel


@functools.cache
def _torch_pickler_types() -> tuple[type, type, object]:
    """Stand-ins registered as torch.FloatStorage, torch.LongStorage and
    torch._utils._rebuild_tensor_v2, so that pickle names them as torch.save
    does (without needing torch)."""
    torch_mod = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    sys.modules.setdefault("torch", torch_mod)
    sys.modules.setdefault("torch._utils", utils)
    made = []
    for name in ("FloatStorage", "LongStorage"):
        cls = type(name, (), {"__module__": "torch"})
        setattr(sys.modules["torch"], name, cls)
        made.append(cls)

    def _rebuild_tensor_v2(*args: object) -> None:
        raise NotImplementedError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    setattr(sys.modules["torch._utils"], "_rebuild_tensor_v2", _rebuild_tensor_v2)
    return made[0], made[1], _rebuild_tensor_v2


def torch_checkpoint(tensors: dict[str, tuple[_StorageRef, int, tuple[int, ...],
                                               tuple[int, ...]]],
                     storages: dict[str, bytes], wrap_in_model: bool = True) -> bytes:
    _, _, rebuild = _torch_pickler_types()

    class Tensor:
        def __init__(self, spec: tuple[_StorageRef, int, tuple[int, ...], tuple[int, ...]]):
            self.spec = spec

        def __reduce__(self) -> tuple[object, tuple[object, ...]]:
            storage, offset, size, stride = self.spec
            return (rebuild, (storage, offset, size, stride, False,
                              collections.OrderedDict()))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            if isinstance(obj, _StorageRef):
                return ("storage", obj.dtype, obj.key, "cpu", obj.numel)
            return None

    state = collections.OrderedDict((k, Tensor(v)) for k, v in tensors.items())
    root: object = {"model": state} if wrap_in_model else state
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(root)
    out = io.BytesIO()
    entries = [("archive/data.pkl", buf.getvalue()), ("archive/byteorder", b"little")]
    entries += [(f"archive/data/{key}", raw) for key, raw in storages.items()]
    entries.append(("archive/version", b"3\n"))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, raw in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), raw)
    return out.getvalue()


def torch_checkpoint_seeds() -> None:
    float_storage, long_storage, _ = _torch_pickler_types()
    s0 = _StorageRef("0", float_storage, 6)
    s1 = _StorageRef("1", long_storage, 2)
    write("torch_checkpoint", "model_dict.pt", torch_checkpoint(
        {"a.weight": (s0, 0, (2, 3), (3, 1)),
         "a.bias": (s0, 4, (2,), (1,)),   # a view sharing the storage
         "b": (s1, 0, (2,), (1,))},
        {"0": struct.pack("<6f", *range(6)), "1": struct.pack("<2q", 5, -5)}))
    write("torch_checkpoint", "bare_state_dict.pt", torch_checkpoint(
        {"t": (s0, 1, (3, 1), (1, 3))}, {"0": struct.pack("<6f", *range(6))},
        wrap_in_model=False))


# --- requests ----------------------------------------------------------------------------

# The request kinds of server/proto_convert_fuzz.cc, in its order.
SEGMENT, ADD_PROMPTS, PROPAGATE, GENERATE_MASKS, CLEAR_PROMPTS, GET_SESSION = range(6)
NAME = "sessions/sam2-0-0123456789abcdef0123456789abcdef"


def request_seeds() -> None:
    def put(name: str, kind: int, message: object) -> None:
        write("proto_convert", name, bytes([kind]) + message.SerializeToString())  # type: ignore

    put("segment_click", SEGMENT, pb.SegmentRequest(
        session=NAME, points=[pb.Point(x=3, y=4, label=1)], multimask_output=False))
    put("segment_boxes_logits", SEGMENT, pb.SegmentRequest(
        session=NAME, boxes=[pb.Box(x0=1, y0=1, x1=5, y1=6)],
        mask_input=pb.MaskInput(logits=pb.Mask(height=2, width=2,
                                               logits=struct.pack("<4f", 1, -1, 0, 2))),
        mask_format=pb.MASK_FORMAT_LOGITS))
    put("segment_reference", SEGMENT, pb.SegmentRequest(
        session=NAME, mask_input=pb.MaskInput(previous=pb.MaskReference(result_id=3))))
    put("add_prompts_rle", ADD_PROMPTS, pb.AddPromptsRequest(
        session=NAME, frame_index=2, object_id=7,
        mask=pb.Mask(height=4, width=5, rle_counts=encode_rle_counts([3, 10, 7]))))
    put("add_prompts_png", ADD_PROMPTS, pb.AddPromptsRequest(
        session=NAME, object_id=1,
        mask=pb.Mask(height=3, width=2, png=encode(Image.new("L", (2, 3), 255), "PNG"))))
    put("add_prompts_box", ADD_PROMPTS, pb.AddPromptsRequest(
        session=NAME, box=pb.Box(x0=1, y0=2, x1=3, y1=4), clear_old_points=True,
        mask_format=pb.MASK_FORMAT_PNG))
    put("propagate", PROPAGATE, pb.PropagateVideoRequest(
        session=NAME, start_frame=1, max_frames=4, direction=pb.DIRECTION_BOTH))
    put("generate_masks", GENERATE_MASKS, pb.GenerateMasksRequest(
        session=NAME, points_per_side=8, crop_n_layers=1, crop_overlap_ratio=0.25,
        pred_iou_thresh=0.5, use_m2m=True))
    put("clear_prompts", CLEAR_PROMPTS, pb.ClearPromptsRequest(
        session=NAME, frame_index=1, object_id=2, mask_format=pb.MASK_FORMAT_RLE))
    put("get_session", GET_SESSION, pb.GetSessionRequest(name=NAME))


def main() -> None:
    image_seeds()
    rle_seeds()
    mask_seeds()
    safetensors_seeds()
    torch_checkpoint_seeds()
    request_seeds()
    print(f"make_seeds: wrote the seeds under {CORPUS}")


if __name__ == "__main__":
    main()
