"""Mask encodings of the sam2.v1 API, to and from NumPy.

- COCO RLE: the compressed `counts` string that pycocotools writes, of a
  column-major (Fortran order) binary mask. Decoded and encoded here in
  NumPy, without pycocotools.
- PNG: 8-bit grayscale, 255 inside the mask (Pillow decodes it).
- Logits: row-major little-endian float32.

Every decoder checks its input and raises ValueError on malformed data.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt

BoolMask = npt.NDArray[np.bool_]
FloatMask = npt.NDArray[np.float32]

# The counts alphabet: 6-bit groups offset by 48 ('0'), so '0'..'o'.
_FIRST = 48
_LAST = 48 + 63


def decode_rle_counts(counts: str) -> list[int]:
    """The run lengths of a COCO compressed counts string.

    Runs alternate, starting with a run of zeros (possibly empty). Each run is
    a variable-length signed integer in 5-bit groups, least significant first
    (bit 0x20 of a group: more groups follow; bit 0x10 of the last: negative);
    from the third run on, the value is a delta against the run two before.
    """
    runs: list[int] = []
    pos = 0
    n = len(counts)
    while pos < n:
        value = 0
        shift = 0
        while True:
            if pos >= n:
                raise ValueError(f"RLE counts end in the middle of a run: {counts[:40]!r}")
            code = ord(counts[pos])
            if code < _FIRST or code > _LAST:
                raise ValueError(
                    f"RLE counts hold {counts[pos]!r} at {pos}, outside '0'..'o'")
            c = code - _FIRST
            pos += 1
            value |= (c & 0x1F) << shift
            shift += 5
            if not c & 0x20:
                if c & 0x10:
                    value -= 1 << shift  # sign-extend the last group
                break
        if len(runs) > 2:
            value += runs[-2]
        if value < 0:
            raise ValueError(f"RLE counts hold a negative run ({value}) at run {len(runs)}")
        runs.append(value)
    return runs


def encode_rle_counts(runs: list[int]) -> str:
    """The COCO compressed counts string of `runs` (inverse of decode)."""
    out: list[str] = []
    for i, run in enumerate(runs):
        x = run - runs[i - 2] if i > 2 else run
        more = True
        while more:
            c = x & 0x1F
            x >>= 5  # arithmetic shift: negative deltas end at -1
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + _FIRST))
    return "".join(out)


def rle_to_mask(counts: str, height: int, width: int) -> BoolMask:
    """Decodes a COCO compressed counts string to a (height, width) bool mask."""
    if height < 0 or width < 0:
        raise ValueError(f"bad mask size {width}x{height}")
    runs = decode_rle_counts(counts)
    total = sum(runs)
    if total != height * width:
        raise ValueError(
            f"RLE counts cover {total} pixels, not {height}x{width} = {height * width}")
    values = np.zeros(len(runs), dtype=np.bool_)
    values[1::2] = True
    flat = np.repeat(values, np.asarray(runs, dtype=np.int64))
    # Column-major: the runs walk down each column, columns left to right.
    return np.ascontiguousarray(flat.reshape(width, height).T)


def mask_to_rle(mask: npt.ArrayLike) -> str:
    """Encodes a 2-D mask (nonzero = inside) as a COCO compressed counts string."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"a mask must be 2-D (height, width), got shape {m.shape}")
    flat = (m != 0).T.ravel()  # column-major
    if flat.size == 0:
        return encode_rle_counts([0])
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat[0]:
        runs.insert(0, 0)  # the counts start with a (here empty) run of zeros
    return encode_rle_counts([int(r) for r in runs])


def png_to_mask(png: bytes, height: int | None = None, width: int | None = None) -> BoolMask:
    """Decodes an 8-bit grayscale PNG mask (nonzero = inside)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG":
                raise ValueError(f"expected a PNG mask, got {image.format}")
            array = np.asarray(image.convert("L"))
    except (OSError, SyntaxError) as e:  # Pillow's errors for undecodable data
        raise ValueError(f"undecodable PNG mask: {e}") from e
    if height is not None and width is not None and array.shape != (height, width):
        raise ValueError(
            f"the PNG mask is {array.shape[1]}x{array.shape[0]}, expected {width}x{height}")
    return np.ascontiguousarray(array > 0)


def mask_to_png(mask: npt.ArrayLike) -> bytes:
    """Encodes a 2-D mask (nonzero = inside) as an 8-bit grayscale PNG."""
    from PIL import Image

    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"a mask must be 2-D (height, width), got shape {m.shape}")
    buf = io.BytesIO()
    Image.fromarray(np.where(m != 0, 255, 0).astype(np.uint8), mode="L").save(buf, "PNG")
    return buf.getvalue()


def logits_to_array(data: bytes, height: int, width: int) -> FloatMask:
    """Row-major little-endian float32 bytes to a (height, width) array."""
    expected = height * width * 4
    if len(data) != expected:
        raise ValueError(
            f"logits hold {len(data)} bytes, not {width}x{height} float32 = {expected}")
    return np.frombuffer(data, dtype="<f4").astype(np.float32).reshape(height, width)


def array_to_logits(logits: npt.ArrayLike) -> bytes:
    """A 2-D float array as row-major little-endian float32 bytes."""
    a = np.asarray(logits)
    if a.ndim != 2:
        raise ValueError(f"logits must be 2-D (height, width), got shape {a.shape}")
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


def image_to_png(image: npt.ArrayLike) -> bytes:
    """Encodes an (H, W, 3) RGB or (H, W) grayscale uint8 array as PNG."""
    from PIL import Image

    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise ValueError(f"an image array must be uint8, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 3:
        pil = Image.fromarray(a, mode="RGB")
    elif a.ndim == 2:
        pil = Image.fromarray(a, mode="L")
    else:
        raise ValueError(f"an image array must be (H, W, 3) RGB or (H, W), got {a.shape}")
    buf = io.BytesIO()
    pil.save(buf, "PNG", compress_level=1)
    return buf.getvalue()
