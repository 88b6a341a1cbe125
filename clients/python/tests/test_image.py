"""Image sessions against the real server (the bundled micro model)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from support import IMAGE

from sam2_client import (FailedPrecondition, ImageSession, InvalidArgument, MaskRef,
                         NotFound, Sam2Client, SegmentResult)

H, W = 400, 600  # tests/fixtures/sam2.1-micro/image.png


@pytest.fixture
def image(client: Sam2Client) -> Iterator[ImageSession]:
    with client.create_image_session(IMAGE) as session:
        yield session


def test_server_info_says_masks_are_meaningless(client: Sam2Client) -> None:
    info = client.server_info()
    assert info.meaningless_masks is True
    assert "MEANINGLESS" in info.warning
    assert info.image_size == 512
    assert info.devices == ("cpu",)
    assert len(info.workers) == 1
    assert info.workers[0].device == "cpu"
    assert info.workers[0].precision in ("float32", "bfloat16")
    assert info.workers[0].memory_total_bytes == 0
    assert info.workers[0].session_budget_bytes > 0
    # One worker: nothing to weigh, nothing timed.
    assert info.workers[0].relative_speed == 1.0
    assert info.workers[0].encoder_ms == 0.0
    assert info.instance_id
    assert info.limits.max_points > 0
    assert info.limits.max_message_bytes > 0


def test_create_from_path_bytes_and_array(client: Sam2Client) -> None:
    data = IMAGE.read_bytes()
    from PIL import Image

    array = np.asarray(Image.open(IMAGE).convert("RGB"))
    assert array.shape == (H, W, 3)
    for source in (IMAGE, str(IMAGE), data, array):
        with client.create_image_session(source) as s:
            assert s.name.startswith("sessions/")
            assert (s.height, s.width) == (H, W)
            assert s.expire_time is not None and s.create_time is not None
            info = s.info()
            assert info.bytes_held > 0 and info.name == s.name


def test_segment_multimask(image: ImageSession) -> None:
    r = image.segment(points=[(270, 220), (120, 120)], labels=[1, 0])
    assert isinstance(r, SegmentResult)
    assert r.masks.shape == (3, H, W)
    assert r.masks.dtype == np.bool_
    assert r.scores.shape == (3,) and r.scores.dtype == np.float32
    assert np.all(np.isfinite(r.scores))
    assert r.result_id > 0
    assert r.best_index() == int(np.argmax(r.scores))
    assert r.best_mask().shape == (H, W)
    # The same areas the `sam2 segment` tool prints for these prompts
    # (README), decoded here from the server's RLE.
    assert [int(m.sum()) for m in r.masks] == [149958, 48358, 190877]


def test_segment_single_mask_and_default_labels(image: ImageSession) -> None:
    r = image.segment(points=np.array([[270.0, 220.0]]), multimask=False)
    assert r.masks.shape == (1, H, W)
    assert r.scores.shape == (1,)


def test_png_and_rle_masks_agree(image: ImageSession) -> None:
    rle = image.segment(points=[(270, 220)])
    png = image.segment(points=[(270, 220)], mask_format="png")
    np.testing.assert_array_equal(rle.masks, png.masks)
    np.testing.assert_allclose(rle.scores, png.scores)


def test_refine_with_result_reference(image: ImageSession) -> None:
    first = image.segment(points=[(270, 220)])
    ref = first.ref()
    assert ref == MaskRef(first.result_id, 0, first.best_index())
    refined = image.segment(points=[(270, 220), (300, 250)], labels=[1, 1],
                            mask_input=ref, multimask=False)
    assert refined.masks.shape == (1, H, W)
    assert refined.result_id != first.result_id
    # A reference the server never issued.
    with pytest.raises(NotFound):
        image.segment(points=[(270, 220)], mask_input=MaskRef(first.result_id + 1000))


def test_logits_and_logits_as_mask_input(image: ImageSession) -> None:
    r = image.segment(points=[(270, 220)], mask_format="logits")
    assert r.masks.dtype == np.float32
    assert r.masks.shape == (3, 128, 128)  # image_size / 4
    refined = image.segment(points=[(270, 220)], mask_input=r.masks[r.best_index()])
    assert refined.masks.shape == (3, H, W)
    by_ref = image.segment(points=[(270, 220)], mask_input=r.ref())
    np.testing.assert_array_equal(refined.masks, by_ref.masks)


def test_boxes(image: ImageSession) -> None:
    one = image.segment(boxes=(60, 80, 420, 360), multimask=False)
    assert one.masks.shape == (1, H, W)
    several = image.segment(boxes=[(10, 10, 200, 200), (100, 100, 300, 300),
                                   (0, 0, 599, 399)])
    assert len(several.prompts) == 3
    assert several.masks.shape == (3, 3, H, W)
    assert several.scores.shape == (3, 3)
    ref = several.ref(mask_index=1, prompt_index=2)
    assert (ref.prompt_index, ref.mask_index) == (2, 1)
    again = image.segment(boxes=[(10, 10, 200, 200)], mask_input=ref)
    assert again.masks.shape == (3, H, W)
    with pytest.raises(ValueError):
        image.segment(boxes=[(1, 2, 3)])


def test_generate_masks(image: ImageSession) -> None:
    masks = image.generate_masks(points_per_side=4, pred_iou_thresh=0.0,
                                 stability_score_thresh=0.0)
    assert masks
    for m in masks:
        assert m.mask.shape == (H, W) and m.mask.dtype == np.bool_
        assert m.area == int(m.mask.sum())
        assert len(m.bbox) == 4 and len(m.crop_box) == 4
    png = image.generate_masks(points_per_side=4, pred_iou_thresh=0.0,
                               stability_score_thresh=0.0, mask_format="png")
    assert [m.area for m in png] == [m.area for m in masks]
    with pytest.raises(InvalidArgument):
        image.generate_masks(points_per_side=0)


def test_nan_point_is_invalid_argument(image: ImageSession) -> None:
    with pytest.raises(InvalidArgument) as e:
        image.segment(points=[(float("nan"), 10.0)])
    assert e.value.code_name == "INVALID_ARGUMENT"
    assert e.value.method == "Segment"
    assert e.value.attempts == 1


def test_deleted_session_is_not_found(client: Sam2Client) -> None:
    session = client.create_image_session(IMAGE)
    session.delete()
    with pytest.raises(NotFound) as e:
        session.segment(points=[(10, 10)])
    assert e.value.code_name == "NOT_FOUND"
    assert "deleted" in e.value.details
    with pytest.raises(NotFound):
        session.delete()
    session.delete(missing_ok=True)


def test_context_manager_deletes(client: Sam2Client) -> None:
    with client.create_image_session(IMAGE) as session:
        name = session.name
        assert client.get_image_session(name).name == name
    with pytest.raises(NotFound):
        client.get_image_session(name)


def test_bad_image_and_wrong_kind(client: Sam2Client) -> None:
    with pytest.raises(InvalidArgument):
        client.create_image_session(b"GIF89a not an image we take")
    with pytest.raises(ValueError):
        client.create_image_session(np.zeros((8, 8, 3), dtype=np.float32))
    with client.create_image_session(IMAGE) as s:
        with pytest.raises(FailedPrecondition):
            client.get_video_session(s.name)
    with pytest.raises(InvalidArgument):
        client.get_image_session("not-a-session-name")
