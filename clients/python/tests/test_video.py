"""Video sessions against the real server (the bundled micro model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from support import FRAME_FILES, FRAMES, write_mjpeg_avi

from sam2_client import (Aborted, FailedPrecondition, FrameMasks, InvalidArgument, NotFound,
                         OutOfRange, Propagation, Sam2Client, VideoSession)

N, H, W = 8, 180, 320  # tests/fixtures/sam2.1-micro/frames


@pytest.fixture
def video(client: Sam2Client) -> Iterator[VideoSession]:
    with client.create_video_session(FRAMES) as session:
        yield session


def _prompt_two_objects(v: VideoSession) -> None:
    v.add_prompts(0, 1, points=[(160, 90)])
    v.add_prompts(2, 2, box=(200, 40, 300, 160))


def test_create_from_frames(client: Sam2Client) -> None:
    assert len(FRAME_FILES) == N
    sources: list[object] = [FRAMES, FRAME_FILES, [f.read_bytes() for f in FRAME_FILES]]
    for source in sources:
        with client.create_video_session(source) as v:  # type: ignore[arg-type]
            assert (v.num_frames, v.height, v.width) == (N, H, W)
            assert v.source == "frames"
            assert v.object_ids == ()


def test_create_from_arrays(client: Sam2Client) -> None:
    frames = [np.full((64, 96, 3), i * 20, dtype=np.uint8) for i in range(3)]
    with client.create_video_session(frames) as v:
        assert (v.num_frames, v.height, v.width) == (3, 64, 96)


def test_upload_video_file_in_chunks(client: Sam2Client, tmp_path: Path) -> None:
    avi = write_mjpeg_avi(tmp_path / "clip.avi", [f.read_bytes() for f in FRAME_FILES], W, H)
    assert avi.stat().st_size > 3 * 4096
    with client.create_video_session(avi, chunk_bytes=4096) as v:
        assert (v.num_frames, v.height, v.width) == (N, H, W)
        assert v.source == "video_file"
        f = v.add_prompts(0, 1, points=[(160, 90)])
        assert f.masks[1].shape == (H, W)
        # A file session takes no appended frames.
        with pytest.raises(FailedPrecondition):
            v.append_frames([FRAME_FILES[0]])
    with client.create_video_session(avi.read_bytes(), chunk_bytes=10_000) as v:
        assert v.num_frames == N
    with pytest.raises(FileNotFoundError):
        client.create_video_session(tmp_path / "missing.mp4")


def test_add_prompts_and_propagate(video: VideoSession) -> None:
    first = video.add_prompts(0, 1, points=[(160, 90)], labels=[1])
    assert isinstance(first, FrameMasks)
    assert first.frame_index == 0
    assert list(first.masks) == [1]
    assert first.masks[1].shape == (H, W) and first.masks[1].dtype == np.bool_
    second = video.add_prompts(2, 2, box=(200, 40, 300, 160))
    assert second.frame_index == 2
    assert sorted(second.masks) == [1, 2] and sorted(second.scores) == [1, 2]

    stream = video.propagate()
    frames = []
    for frame_index, masks, scores in stream:
        assert sorted(masks) == [1, 2] and sorted(scores) == [1, 2]
        for m in masks.values():
            assert m.shape == (H, W) and m.dtype == np.bool_
        assert all(isinstance(s, float) for s in scores.values())
        frames.append(frame_index)
    assert frames == list(range(N))
    assert (stream.frames_done, stream.frames_total) == (N, N)

    info = video.info()
    assert info.object_ids == (1, 2)
    assert info.prompted_frames == {1: (0,), 2: (2,)}
    assert info.num_frames == N


def test_propagate_directions_and_limits(video: VideoSession) -> None:
    _prompt_two_objects(video)
    both = [f.frame_index for f in video.propagate(start_frame=3, direction="both",
                                                   max_frames=2)]
    assert both == [3, 4, 5, 2, 1]
    reverse = [f.frame_index for f in video.propagate(start_frame=5, direction="reverse")]
    assert reverse == [5, 4, 3, 2, 1, 0]
    logits = next(iter(video.propagate(mask_format="logits", max_frames=0)))
    assert logits.masks[1].dtype == np.float32 and logits.masks[1].shape == (H, W)
    png = list(video.propagate(mask_format="png"))
    rle = list(video.propagate())
    for a, b in zip(png, rle):
        for obj in (1, 2):
            np.testing.assert_array_equal(a.masks[obj], b.masks[obj])
    with pytest.raises(ValueError):
        video.propagate(direction="sideways")  # type: ignore[arg-type]


def test_break_cancels_and_session_stays_usable(video: VideoSession) -> None:
    _prompt_two_objects(video)
    for frame_index, masks, _ in video.propagate():
        assert frame_index == 0 and sorted(masks) == [1, 2]
        break
    # At once: the client waits out the frame the server was still tracking.
    f = video.add_prompts(4, 1, points=[(100, 100)], labels=[0], clear_old_points=False)
    assert f.frame_index == 4
    assert len(list(video.propagate())) == N


def test_cancel_explicitly(video: VideoSession) -> None:
    _prompt_two_objects(video)
    stream = video.propagate()
    assert isinstance(stream, Propagation)
    assert next(stream).frame_index == 0
    stream.cancel()
    with pytest.raises(StopIteration):
        next(stream)
    with video.propagate() as again:
        assert [f.frame_index for f in again][-1] == N - 1


def test_clear_remove_reset(video: VideoSession) -> None:
    _prompt_two_objects(video)
    cleared = video.clear_prompts(2, 2)
    assert cleared.frame_index == 2
    removed = video.remove_object(2)
    assert removed.object_ids == (1,)
    assert all(sorted(f.masks) == [1] for f in removed.updated_frames)
    assert video.info().object_ids == (1,)
    info = video.reset()
    assert info.object_ids == () and info.num_frames == N
    with pytest.raises(FailedPrecondition):  # nothing to propagate
        list(video.propagate())


def test_mask_prompt(video: VideoSession) -> None:
    mask = np.zeros((H, W), dtype=bool)
    mask[50:100, 60:200] = True
    f = video.add_prompts(1, 7, mask=mask)
    assert f.frame_index == 1 and list(f.masks) == [7]
    assert f.masks[7].shape == (H, W)
    with pytest.raises(InvalidArgument):
        video.add_prompts(1, 8, mask=np.ones((H + 1, W), dtype=bool))


def test_append_frames(client: Sam2Client) -> None:
    with client.create_video_session([]) as v:
        assert v.num_frames == 0 and v.source == "frames"
        info = v.append_frames(FRAME_FILES[:3])
        assert info.num_frames == 3 and v.num_frames == 3
        assert v.append_frames([FRAME_FILES[3].read_bytes()]).num_frames == 4
        with pytest.raises(OutOfRange):
            v.add_prompts(7, 1, points=[(10, 10)])
        v.add_prompts(3, 1, points=[(10, 10)])
        assert [f.frame_index for f in v.propagate()] == [3]


def test_errors(client: Sam2Client, video: VideoSession) -> None:
    with pytest.raises(InvalidArgument):
        video.add_prompts(0, 1, points=[(float("nan"), 1.0)])
    with pytest.raises(FailedPrecondition):
        client.get_image_session(video.name)
    video.delete()
    with pytest.raises(NotFound):
        video.info()
    with pytest.raises(NotFound) as e:
        next(iter(video.propagate()))
    assert e.value.method == "PropagateVideo"
    assert e.value.code == grpc.StatusCode.NOT_FOUND


class _BusyThenFree:
    """A stand-in client whose calls fail with Aborted ("session is busy")
    `busy` times, then succeed."""

    def __init__(self, busy: int, reply: object) -> None:
        self.busy = busy
        self.calls = 0
        self.reply = reply

    def _unary(self, method: str, request: object, session: str | None = None) -> object:
        assert session == "sessions/x-" + "0" * 32  # the routing header's value
        self.calls += 1
        if self.calls <= self.busy:
            raise Aborted("session is busy: PropagateVideo", method=method)
        return self.reply


def test_after_a_cancel_the_next_call_waits_for_the_session() -> None:
    from sam2_client._proto import pb

    proto = pb.VideoSession(name="sessions/x-" + "0" * 32, num_frames=8, height=H, width=W)
    fake = _BusyThenFree(busy=3, reply=proto)
    v = VideoSession(fake, proto)  # type: ignore[arg-type]
    with pytest.raises(Aborted):  # no cancelled stream: a conflict is reported at once
        v.info()
    assert fake.calls == 1
    v._note_cancelled()  # what Propagation.cancel() does
    assert v.info().num_frames == 8
    assert fake.calls == 4
