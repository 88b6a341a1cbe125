"""Mask codecs: COCO RLE against pycocotools' strings, PNG, logits."""

from __future__ import annotations

import numpy as np
import pytest

from sam2_client import masks


def _mask(rows: list[list[int]]) -> np.ndarray:
    return np.array(rows, dtype=bool)


def _big_with_hole() -> np.ndarray:
    m = np.zeros((40, 50), dtype=bool)
    m[5:35, 10:45] = True
    m[10:12, 20:22] = False
    return m


def _wide() -> np.ndarray:
    m = np.zeros((7, 300), dtype=bool)
    m[:, 3] = True
    m[2:5, 100:290] = True
    return m


# The masks and counts strings of model/rle_test.cc, which pycocotools 2.0
# wrote (mask.encode on the Fortran-order masks).
KNOWN = [
    ("empty", np.zeros((3, 4), dtype=bool), "<", 0),
    ("full", np.ones((3, 4), dtype=bool), "0<", 12),
    ("first_pixel", _mask([[1, 0], [0, 0]]), "013", 1),
    ("diagonal", np.eye(4, dtype=bool), "01400000", 4),
    ("block", _mask([[0, 0, 0, 0, 0],
                     [0, 1, 1, 0, 0],
                     [0, 1, 1, 1, 0],
                     [0, 0, 0, 0, 0]]), "52201O2", 5),
    ("random", _mask([[1, 1, 1, 1, 0],
                      [1, 0, 1, 1, 0],
                      [1, 1, 1, 1, 0],
                      [0, 0, 1, 1, 1],
                      [1, 1, 0, 1, 0],
                      [1, 0, 1, 1, 0]]), "03100N0003032JO", 20),
    ("big_with_hole", _big_with_hole(),
     "e<n0:000000000000000000WOHb08^OHb0870000000000000000000000000"
     "0000000000000000000S6", 1046),
    ("wide", _wide(), "e07Re0LR[O" + "0" * 377 + "T2", 577),
]


@pytest.mark.parametrize("name,mask,counts,area", KNOWN, ids=[k[0] for k in KNOWN])
def test_rle_decodes_pycocotools_strings(name: str, mask: np.ndarray, counts: str,
                                         area: int) -> None:
    decoded = masks.rle_to_mask(counts, *mask.shape)
    assert decoded.dtype == np.bool_
    assert decoded.shape == mask.shape
    np.testing.assert_array_equal(decoded, mask)
    assert int(decoded.sum()) == area


@pytest.mark.parametrize("name,mask,counts,area", KNOWN, ids=[k[0] for k in KNOWN])
def test_rle_encodes_pycocotools_strings(name: str, mask: np.ndarray, counts: str,
                                         area: int) -> None:
    assert masks.mask_to_rle(mask) == counts


def test_rle_run_lengths() -> None:
    assert masks.decode_rle_counts("013") == [0, 1, 3]
    assert masks.decode_rle_counts("<") == [12]
    assert masks.encode_rle_counts([0, 1, 3]) == "013"


def test_rle_round_trips_random_masks() -> None:
    rng = np.random.default_rng(7)
    for shape in [(1, 1), (1, 9), (9, 1), (17, 33), (64, 48), (300, 7)]:
        for density in (0.02, 0.5, 0.98):
            m = rng.random(shape) < density
            np.testing.assert_array_equal(masks.rle_to_mask(masks.mask_to_rle(m), *shape), m)


@pytest.mark.parametrize("counts,h,w", [
    ("0<", 3, 3),      # 12 pixels, not 9
    ("0\x7f", 3, 4),   # outside the alphabet
    ("0R", 3, 4),      # ends mid-run
    ("00O", 2, 2),     # a negative run
])
def test_rle_rejects_malformed_counts(counts: str, h: int, w: int) -> None:
    with pytest.raises(ValueError):
        masks.rle_to_mask(counts, h, w)


def test_png_round_trip() -> None:
    m = _big_with_hole()
    png = masks.mask_to_png(m)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(masks.png_to_mask(png, 40, 50), m)
    with pytest.raises(ValueError):
        masks.png_to_mask(png, 50, 40)
    with pytest.raises(ValueError):
        masks.png_to_mask(b"not a png")


def test_logits_round_trip() -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5
    data = masks.array_to_logits(a)
    assert len(data) == 48
    out = masks.logits_to_array(data, 3, 4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, a)
    # Row-major: element (1, 2) is float number 1 * 4 + 2.
    assert np.frombuffer(data[(1 * 4 + 2) * 4:][:4], "<f4")[0] == a[1, 2]
    with pytest.raises(ValueError):
        masks.logits_to_array(data, 4, 4)
