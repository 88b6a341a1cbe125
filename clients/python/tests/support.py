"""Paths of the test fixtures, and a tiny MJPEG AVI writer for upload tests."""

from __future__ import annotations

import struct
from pathlib import Path

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
