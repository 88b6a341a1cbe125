"""The web annotation page (server/web/, served at /ui/) in a real browser:
headless Chromium driven over the DevTools protocol (cdp.py) against the
real sam2_server binary with the micro model.

It opens the page, uploads the fixture image, clicks, and checks that the
mask overlay's pixels are exactly the best mask the JSON API returns for the
same click (and for a dragged box), and that the COCO JSON and PNG downloads
hold that mask; uploads the fixture's frames as a video, adds an object,
propagates and checks every frame got its mask; propagates a longer video
and cancels, checking the server stopped within a frame or so and the
session is usable again; and checks a bad file shows the server's error.
Screenshots of each step go to $TEST_UNDECLARED_OUTPUTS_DIR (or a temporary
directory); the test prints where.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from cdp import Browser, find_chromium, poll
from conftest import RunningServer
from sam2_client.masks import rle_to_mask
from support import FRAME_FILES, IMAGE, write_mjpeg_avi

# Frames of the video that is cancelled mid-propagation (the fixture's 8,
# repeated): long enough that the stream cannot finish before the cancel.
CANCEL_VIDEO_FRAMES = 160


def _post(port: int, path: str, body: bytes, content_type: str) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                     headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _stream_frames_total(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    m = re.search(r"^sam2_stream_frames_total (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    root = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR")
    directory = Path(root) / "web_ui" if root else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    print(f"\ntest_web_ui: screenshots in {directory}")
    return directory


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.fail("chromium is not installed: run scripts/install.sh "
                    "(it installs Debian's chromium package)", pytrace=False)
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    b = Browser(executable, profile)
    try:
        yield b
    finally:
        b.close()


def _open_page(browser: Browser, server: RunningServer) -> None:
    assert server.http_port > 0, "the server's HTTP side did not start"
    browser.navigate(f"http://127.0.0.1:{server.http_port}/ui/")
    browser.wait_for("document.body && document.body.dataset.ready === 'true'",
                     what="the page to load")


def _canvas_mask(browser: Browser, selector: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """The pixels of a mask canvas with alpha > 0, as a (height, width) mask."""
    width, height, bits = browser.evaluate(
        f"(() => {{ const c = document.querySelector('{selector}');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " const out = new Array(c.width * c.height);"
        " for (let i = 0; i < out.length; i++) out[i] = d[4 * i + 3] > 0 ? '1' : '0';"
        " return [c.width, c.height, out.join('')]; })()")
    flat: np.ndarray[Any, np.dtype[np.bool_]] = (
        np.frombuffer(bits.encode(), dtype=np.uint8) == ord("1"))
    return flat.reshape(int(height), int(width))


# The error line's text, "" while it is hidden.
ERROR_TEXT = ("document.querySelector('#error').hidden ? ''"
              " : document.querySelector('#error').textContent")


def _error_text(browser: Browser) -> str:
    text: str = browser.evaluate(ERROR_TEXT)
    return text


def _complete_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
        return True
    except ValueError:
        return False  # still being written


def _complete_png(path: Path) -> bool:
    try:
        with Image.open(path) as png:
            png.load()
        return True
    except (OSError, SyntaxError):
        return False  # still being written


def _bad_file_shows_the_servers_error(browser: Browser, selector: str, bad: Path,
                                      shot: Path) -> None:
    browser.set_files(selector, [bad])
    text = browser.wait_for(ERROR_TEXT, what="the error message")
    browser.screenshot(shot)
    assert text.startswith("INVALID_ARGUMENT: "), text


def test_image_click_overlay_is_the_apis_mask(server: RunningServer, browser: Browser,
                                              shots: Path, tmp_path: Path) -> None:
    _open_page(browser, server)
    browser.screenshot(shots / "01_page.png")

    browser.set_files("#image-file", [IMAGE])
    browser.wait_for("document.querySelector('#image-panel').dataset.session",
                     what="the image session")
    browser.screenshot(shots / "02_image_opened.png")

    x, y = browser.center_of("#image-marks", 0.45, 0.55)
    browser.click(x, y)
    browser.wait_for("document.querySelector('#image-mask').dataset.segments === '1'",
                     what="the first mask")
    browser.screenshot(shots / "03_image_click.png")
    assert _error_text(browser) == ""

    px, py, label = json.loads(browser.evaluate(
        "document.querySelector('#image-marks').dataset.point"))
    assert label == 1
    shown = _canvas_mask(browser, "#image-mask")
    assert shown.shape == (400, 600)

    # The same click through the API, on a session of its own.
    port = server.http_port
    created = _post(port, "/api/v1/image/create", IMAGE.read_bytes(), "image/png")
    answer = _post(port, "/api/v1/image/segment",
                   json.dumps({"session": created["session"], "points": [[px, py]],
                               "point_labels": [1], "multimask_output": True}).encode(),
                   "application/json")
    prompt = answer["prompts"][0]
    best = int(np.argmax(prompt["scores"]))
    rle = prompt["masks"][best]
    expected = rle_to_mask(rle["counts"], rle["size"][0], rle["size"][1])
    assert expected.any(), "the API's mask is empty: the comparison would prove nothing"
    assert np.array_equal(shown, expected), (
        f"{int((shown != expected).sum())} pixels differ between the overlay and the API's mask")
    selected = browser.evaluate(
        "document.querySelector('#image-candidates button.selected').dataset.index")
    assert int(selected) == best
    assert browser.evaluate("document.querySelectorAll('#image-candidates button').length") == 3

    # A negative click (right button) refines it; undo goes back to one point.
    x2, y2 = browser.center_of("#image-marks", 0.2, 0.2)
    browser.click(x2, y2, button="right")
    browser.wait_for("document.querySelector('#image-mask').dataset.segments === '2'",
                     what="the refined mask")
    browser.screenshot(shots / "04_image_negative_click.png")
    browser.click_element("#image-undo")
    browser.wait_for("document.querySelector('#image-mask').dataset.segments === '3'",
                     what="the mask after undo")
    assert np.array_equal(_canvas_mask(browser, "#image-mask"), expected)

    # The downloads hold the shown mask: COCO JSON (the API's RLE) and PNG.
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.allow_downloads(downloads)
    browser.click_element("#image-export-coco")
    coco_file = downloads / "image_masks.json"
    assert poll(coco_file.exists, 30), "no COCO JSON was downloaded"
    assert poll(lambda: _complete_json(coco_file), 30)
    coco = json.loads(coco_file.read_text())
    assert coco["images"] == [{"id": 1, "file_name": "image.png", "width": 600, "height": 400}]
    [annotation] = coco["annotations"]
    assert annotation["segmentation"] == rle
    assert annotation["area"] == int(expected.sum())
    ys, xs = np.nonzero(expected)
    assert annotation["bbox"] == [int(xs.min()), int(ys.min()),
                                  int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
    browser.click_element("#image-export-png")
    png_file = downloads / "image_masks.png"
    assert poll(png_file.exists, 30), "no PNG was downloaded"
    assert poll(lambda: _complete_png(png_file), 30)
    with Image.open(png_file) as png:
        assert png.size == (600, 400)
        white = np.asarray(png.convert("L")) == 255
    assert np.array_equal(white, expected)

    # A box (drag) on a cleared image: the API's mask for the same box.
    browser.click_element("#image-clear")
    bx0, by0 = browser.center_of("#image-marks", 0.3, 0.3)
    bx1, by1 = browser.center_of("#image-marks", 0.7, 0.8)
    browser.drag(bx0, by0, bx1, by1)
    browser.wait_for("document.querySelector('#image-mask').dataset.segments === '4'",
                     what="the box's mask")
    browser.screenshot(shots / "05_image_box.png")
    box = json.loads(browser.evaluate("document.querySelector('#image-marks').dataset.box"))
    assert box[0] < box[2] and box[1] < box[3]
    answer = _post(port, "/api/v1/image/segment",
                   json.dumps({"session": created["session"], "boxes": [box],
                               "multimask_output": True}).encode(),
                   "application/json")
    prompt = answer["prompts"][0]
    rle = prompt["masks"][int(np.argmax(prompt["scores"]))]
    assert np.array_equal(_canvas_mask(browser, "#image-mask"),
                          rle_to_mask(rle["counts"], rle["size"][0], rle["size"][1]))

    # Segment everything: each mask in its own colour.
    browser.evaluate("document.querySelector('#image-points-per-side').value = '4'")
    browser.click_element("#image-everything")
    browser.wait_for("document.querySelector('#image-mask').dataset.segments === '5'",
                     what="the automatic masks")
    browser.screenshot(shots / "06_image_everything.png")
    assert _error_text(browser) == ""

    # A file that is not an image: the server's error is shown.
    bad = tmp_path / "not_an_image.png"
    bad.write_bytes(b"this is not a PNG file")
    _bad_file_shows_the_servers_error(browser, "#image-file", bad,
                                      shots / "07_image_bad_file.png")


def test_video_propagate_and_cancel(server: RunningServer, browser: Browser, shots: Path,
                                    tmp_path: Path) -> None:
    _open_page(browser, server)
    browser.click_element("nav button[data-panel='video-panel']")
    panel = "document.querySelector('#video-panel').dataset"

    browser.set_files("#video-file", FRAME_FILES)
    browser.wait_for(f"{panel}.numFrames === '{len(FRAME_FILES)}'", what="the frames upload")
    browser.screenshot(shots / "11_video_uploaded.png")

    x, y = browser.center_of("#video-marks", 0.4, 0.5)
    browser.click(x, y)
    browser.wait_for(f"{panel}.framesWithMasks === '1'", what="the prompted frame's mask")
    browser.screenshot(shots / "12_video_object.png")

    browser.click_element("#video-propagate")
    browser.wait_for(f"{panel}.stream === 'done'", timeout=120, what="the propagation")
    assert _error_text(browser) == ""
    assert browser.evaluate(f"{panel}.framesWithMasks") == str(len(FRAME_FILES))
    assert browser.evaluate(f"{panel}.framesStreamed") == str(len(FRAME_FILES))
    # Every frame's overlay has mask pixels.
    for frame in range(len(FRAME_FILES)):
        browser.evaluate("(() => { const s = document.querySelector('#video-scrub');"
                         f" s.value = '{frame}'; s.dispatchEvent(new Event('input')); }})()")
        browser.wait_for(f"document.querySelector('#video-frame-label').textContent"
                         f".startsWith('frame {frame + 1} /')", what=f"frame {frame}")
        assert _canvas_mask(browser, "#video-mask").any(), f"frame {frame} shows no mask"
        if frame == len(FRAME_FILES) - 1:
            browser.screenshot(shots / "13_video_propagated_last_frame.png")

    # Correct the object on a later frame and propagate again from there.
    x, y = browser.center_of("#video-marks", 0.6, 0.4)
    browser.click(x, y, button="right")
    poll(lambda: bool(browser.evaluate("document.querySelector('#video-marks').dataset.point")
                      .endswith(",0]")), 30)
    browser.click_element("#video-propagate")
    browser.wait_for(f"{panel}.stream === 'done'", timeout=120, what="the re-propagation")
    assert _error_text(browser) == ""

    # A video file (MJPEG AVI, which Chromium cannot play itself): its frames
    # are shown as the server decodes them.
    avi = write_mjpeg_avi(tmp_path / "clip.avi", [f.read_bytes() for f in FRAME_FILES],
                          320, 180)
    frames_session = browser.evaluate(f"{panel}.session")
    browser.set_files("#video-file", [avi])
    browser.wait_for(f"{panel}.session !== '' && {panel}.session !== '{frames_session}'"
                     f" && {panel}.numFrames === '{len(FRAME_FILES)}'"
                     f" && {panel}.shownFrame === '0'", what="the video file upload")
    browser.wait_for("document.querySelector('#video-frame-label').textContent"
                     ".startsWith('frame 1 / 8')", what="the video file's first frame")
    shown = np.asarray(browser.evaluate(
        "Array.from(document.querySelector('#video-base').getContext('2d')"
        ".getImageData(0, 0, 320, 180).data)"), dtype=np.int16).reshape(180, 320, 4)[:, :, :3]
    with Image.open(FRAME_FILES[0]) as first:
        original = np.asarray(first.convert("RGB"), dtype=np.int16)
    assert float(np.abs(shown - original).mean()) < 8.0, "the shown frame is not the video's first"
    browser.screenshot(shots / "14_video_file.png")
    x, y = browser.center_of("#video-marks", 0.4, 0.5)
    browser.click(x, y)
    browser.wait_for(f"{panel}.framesWithMasks === '1'", what="the video file's prompt")
    assert _error_text(browser) == ""

    # A long video: propagate, cancel after two frames.
    copies = tmp_path / "long"
    copies.mkdir()
    long_frames = []
    for i in range(CANCEL_VIDEO_FRAMES):
        target = copies / f"frame_{i:04d}.jpg"
        shutil.copyfile(FRAME_FILES[i % len(FRAME_FILES)], target)
        long_frames.append(target)
    browser.set_files("#video-file", long_frames)
    browser.wait_for(f"{panel}.numFrames === '{CANCEL_VIDEO_FRAMES}'", timeout=120,
                     what="the long upload")
    x, y = browser.center_of("#video-marks", 0.4, 0.5)
    browser.click(x, y)
    browser.wait_for(f"{panel}.framesWithMasks === '1'", what="the long video's prompt")
    before = _stream_frames_total(server.http_port)
    browser.click_element("#video-propagate")
    browser.wait_for(f"Number({panel}.framesStreamed || 0) >= 2", timeout=60,
                     what="two streamed frames")
    browser.click_element("#video-cancel")
    browser.wait_for(f"{panel}.stream === 'cancelled'", what="the cancellation")
    seen = int(browser.evaluate(f"{panel}.framesStreamed"))
    browser.screenshot(shots / "15_video_cancelled.png")
    # The server stops: its frame count settles well short of the video.
    assert poll(lambda: not _session_busy(server.http_port,
                                          browser.evaluate(f"{panel}.session")), 30)
    streamed = _stream_frames_total(server.http_port) - before
    assert seen <= streamed <= seen + 4, (seen, streamed)
    assert streamed < CANCEL_VIDEO_FRAMES
    # The session is usable at once: a new click on another frame is answered.
    browser.evaluate("(() => { const s = document.querySelector('#video-scrub');"
                     " s.value = '50'; s.dispatchEvent(new Event('input')); })()")
    x, y = browser.center_of("#video-marks", 0.5, 0.5)
    browser.click(x, y)
    browser.wait_for("document.querySelector('#video-marks').dataset.point", what="the click")
    assert poll(lambda: _error_text(browser) == "" and browser.evaluate(
        "document.querySelector('#video-frame-label').textContent").startswith("frame 51 /"), 30)

    # A second object on this frame, then removed again.
    browser.click_element("#video-add-object")
    browser.wait_for(f"{panel}.objects === '1,2'", what="object 2")
    x, y = browser.center_of("#video-marks", 0.25, 0.25)
    browser.click(x, y)
    browser.wait_for(f"{panel}.frameObjects === '1,2'", what="object 2's mask")
    browser.screenshot(shots / "16_video_two_objects.png")
    browser.click_element("#video-remove-object")
    browser.wait_for(f"{panel}.objects === '1'", what="object 2 removed")
    browser.wait_for(f"{panel}.frameObjects === '1'", what="object 2's mask gone")
    assert _error_text(browser) == ""

    # A bad video file: the server's error is shown.
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\0" * 4096)
    _bad_file_shows_the_servers_error(browser, "#video-file", bad,
                                      shots / "17_video_bad_file.png")


def _session_busy(port: int, session: str) -> bool:
    """Whether the session is held by an operation: clearing an object it
    does not have is 404 when it is free, 409 ABORTED while a propagation
    holds it."""
    try:
        _post(port, "/api/v1/video/clear",
              json.dumps({"session": session, "frame_index": 0, "object_id": 999}).encode(),
              "application/json")
    except urllib.error.HTTPError as e:
        return e.code == 409
    return False
