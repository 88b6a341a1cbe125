"""The session routing header: every call that names an existing session
carries `x-sam2-session: <session name>` (also on each retry), server_info()
and the create_* calls carry none. Checked against an in-process gRPC server
that records each call's metadata and answers every call with an error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
import numpy as np
import pytest

from sam2_client import (SESSION_HEADER, ImageSession, NotFound, Sam2Client, Sam2Error,
                         Unavailable, VideoSession, routing_metadata)
from sam2_client._proto import pb
from support import MetadataRecorder

IMAGE_NAME = "sessions/replica-a-" + "a" * 32
VIDEO_NAME = "sessions/sam2-7d9f8-abcde-" + "b" * 32


@pytest.fixture()
def recorder() -> Iterator[tuple[MetadataRecorder, str]]:
    handler = MetadataRecorder(SESSION_HEADER)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    assert port > 0
    server.start()
    try:
        yield handler, f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)


def test_routing_metadata() -> None:
    assert SESSION_HEADER == "x-sam2-session"
    assert routing_metadata(IMAGE_NAME) == (("x-sam2-session", IMAGE_NAME),)
    # Names gRPC metadata cannot carry (or none) go without it.
    for name in (None, "", "sessions/a\nb", "sessions/caf\u00e9", "a" * 257):
        assert routing_metadata(name) == ()


def test_session_calls_carry_the_header_create_calls_none(
        recorder: tuple[MetadataRecorder, str]) -> None:
    handler, address = recorder
    frame = np.zeros((8, 8, 3), dtype=np.uint8)
    with Sam2Client(address, max_retries=0, metadata=[("x-extra", "1")]) as client:
        creates: list[Callable[[], object]] = [
            lambda: client.server_info(),
            lambda: client.create_image_session(b"png"),
            lambda: client.create_video_session([frame]),
        ]
        for create in creates:
            with pytest.raises(Sam2Error):
                create()
        image = ImageSession(client, pb.ImageSession(name=IMAGE_NAME))
        video = VideoSession(client, pb.VideoSession(name=VIDEO_NAME))
        session_calls: list[Callable[[], object]] = [
            lambda: image.segment(points=[(1, 1)]),
            lambda: image.generate_masks(),
            lambda: image.info(),
            lambda: client.get_image_session(IMAGE_NAME),
            lambda: video.append_frames([frame]),
            lambda: video.add_prompts(0, 1, points=[(1, 1)]),
            lambda: next(video.propagate()),
            lambda: video.clear_prompts(0, 1),
            lambda: video.remove_object(1),
            lambda: video.reset(),
            lambda: video.info(),
            lambda: client.get_video_session(VIDEO_NAME),
            lambda: image.delete(),
            lambda: client.delete_session(VIDEO_NAME),
        ]
        for call in session_calls:
            with pytest.raises(NotFound):
                call()
    assert handler.calls == [
        ("GetServerInfo", []),
        ("CreateImageSession", []),
        ("CreateVideoSession", []),
        ("Segment", [IMAGE_NAME]),
        ("GenerateMasks", [IMAGE_NAME]),
        ("GetImageSession", [IMAGE_NAME]),
        ("GetImageSession", [IMAGE_NAME]),
        ("AppendFrames", [VIDEO_NAME]),
        ("AddPrompts", [VIDEO_NAME]),
        ("PropagateVideo", [VIDEO_NAME]),
        ("ClearPrompts", [VIDEO_NAME]),
        ("RemoveObject", [VIDEO_NAME]),
        ("ResetVideoSession", [VIDEO_NAME]),
        ("GetVideoSession", [VIDEO_NAME]),
        ("GetVideoSession", [VIDEO_NAME]),
        ("DeleteSession", [IMAGE_NAME]),
        ("DeleteSession", [VIDEO_NAME]),
    ]


def test_every_retry_carries_the_header(recorder: tuple[MetadataRecorder, str]) -> None:
    handler, address = recorder
    handler.unavailable = {"Segment", "PropagateVideo"}
    with Sam2Client(address, max_retries=2, retry_backoff=0.001, max_backoff=0.002) as client:
        image = ImageSession(client, pb.ImageSession(name=IMAGE_NAME))
        with pytest.raises(Unavailable) as e:
            image.segment(points=[(1, 1)])
        assert e.value.attempts == 3
        video = VideoSession(client, pb.VideoSession(name=VIDEO_NAME))
        with pytest.raises(Unavailable):
            next(video.propagate())
    assert handler.calls == [("Segment", [IMAGE_NAME])] * 3 + \
        [("PropagateVideo", [VIDEO_NAME])] * 3
