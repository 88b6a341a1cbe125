"""Contract test of the SageMaker-style endpoint (server/invocations.h) on the
real sam2_server binary, with plain HTTP from the standard library (no
convenience client): GET /ping, POST /invocations with JSON and raw image
bodies, SageMaker's stateful-session headers, the 6 MB body limit, and the
error statuses. Masks are checked against the gRPC API's for the same click.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import RunningServer
from sam2_client import Sam2Client
from sam2_client.masks import rle_to_mask
from support import IMAGE, MODEL, REPO_ROOT, SERVER_BINARY

TIMEOUT_S = 120.0
MAX_BODY = 6_000_000
SESSION = "X-Amzn-SageMaker-Session-Id"
SERVE = REPO_ROOT / "deploy" / "sagemaker" / "serve"


def http_port(server: RunningServer) -> int:
    assert server.http_port, f"no HTTP port in the server's log:\n{server.log_tail()}"
    return server.http_port


def request(port: int, method: str, path: str, body: bytes = b"",
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def invoke(port: int, payload: dict[str, Any],
           session: str | None = None) -> tuple[int, dict[str, str], Any]:
    headers = {"Content-Type": "application/json"}
    if session is not None:
        headers[SESSION] = session
    status, h, body = request(port, "POST", "/invocations",
                              json.dumps(payload).encode(), headers)
    assert h.get("content-type", "").startswith("application/json"), (status, h, body)
    return status, h, json.loads(body)


def image_b64() -> str:
    return base64.b64encode(IMAGE.read_bytes()).decode()


def test_ping_says_ready(server: RunningServer) -> None:
    status, _, body = request(http_port(server), "GET", "/ping")
    assert (status, body) == (200, b"OK\n")


def test_click_matches_the_grpc_api(server: RunningServer, client: Sam2Client) -> None:
    status, _, out = invoke(http_port(server), {"image": image_b64(), "points": [[300, 200]],
                                     "point_labels": [1]})
    assert status == 200, out
    height, width = out["image_size"]
    (prediction,) = out["predictions"]
    assert len(prediction["masks"]) == len(prediction["scores"]) == 3
    with client.create_image_session(IMAGE) as session:
        expected = session.segment(points=[(300, 200)], labels=[1])
    for i, mask in enumerate(prediction["masks"]):
        assert mask["size"] == [height, width]
        got = rle_to_mask(mask["counts"], height, width)
        np.testing.assert_array_equal(got, expected.masks[i])
    np.testing.assert_allclose(prediction["scores"], expected.scores, rtol=1e-6)


def test_raw_png_body_gives_automatic_masks(server: RunningServer) -> None:
    status, h, body = request(http_port(server), "POST", "/invocations", IMAGE.read_bytes(),
                              {"Content-Type": "image/png"})
    assert status == 200, body
    out = json.loads(body)
    assert out["image_size"] == [400, 600]
    for a in out["annotations"]:
        assert set(a) == {"segmentation", "area", "bbox", "predicted_iou",
                          "stability_score", "point_coords", "crop_box"}
        mask = rle_to_mask(a["segmentation"]["counts"], 400, 600)
        assert int(mask.sum()) == a["area"]


def test_stateful_session_lifecycle(server: RunningServer) -> None:
    status, h, out = invoke(http_port(server), {"image": image_b64()}, session="NEW_SESSION")
    assert status == 200, out
    m = re.fullmatch(r"(\S+); Expires=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)",
                     h["x-amzn-sagemaker-new-session-id"])
    assert m, h
    session_id = m.group(1)
    expires = datetime.strptime(m.group(2), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert expires > datetime.now(timezone.utc)
    assert out == {"image_size": [400, 600], "session_id": session_id}

    click = {"points": [[100, 100]], "point_labels": [1], "multimask_output": False}
    status, _, out = invoke(http_port(server), click, session=session_id)
    assert status == 200, out
    assert len(out["predictions"][0]["masks"]) == 1
    # The kept embedding gives what a stateless request gives.
    status, _, fresh = invoke(http_port(server), {"image": image_b64(), **click})
    assert fresh["predictions"] == out["predictions"]

    status, h, out = invoke(http_port(server), {"close_session": True}, session=session_id)
    assert status == 200, out
    assert h["x-amzn-sagemaker-closed-session-id"] == session_id

    status, _, out = invoke(http_port(server), click, session=session_id)
    assert status == 404
    assert out["error"]["code"] == "NOT_FOUND"
    assert "deleted" in out["error"]["message"]


@pytest.mark.parametrize("payload,session,code,status", [
    ({"points": [[1, 1]], "point_labels": [1]}, None, "INVALID_ARGUMENT", 400),
    ({"image": "not base64!"}, None, "INVALID_ARGUMENT", 400),
    ({"image": base64.b64encode(b"GIF89a....").decode()}, None, "INVALID_ARGUMENT", 400),
    ({"image": "", "surprise": 1}, None, "INVALID_ARGUMENT", 400),
    ({"points": [[1, 1]], "point_labels": [1]}, "NEW_SESSION", "INVALID_ARGUMENT", 400),
    ({"points": [[1, 1]], "point_labels": [1]}, "nosuch-" + "0" * 32, "NOT_FOUND", 404),
    ({"close_session": True}, None, "INVALID_ARGUMENT", 400),
])
def test_bad_requests_get_json_errors(server: RunningServer, payload: dict[str, Any],
                                      session: str | None, code: str, status: int) -> None:
    got, _, out = invoke(http_port(server), payload, session=session)
    assert (got, out["error"]["code"]) == (status, code), out
    assert out["error"]["message"]


def test_off_image_click_is_invalid(server: RunningServer) -> None:
    status, _, out = invoke(http_port(server), {"image": image_b64(), "points": [[900, 10]],
                                     "point_labels": [1]})
    assert status == 400
    assert "on the image" in out["error"]["message"]


def test_wrong_content_type_and_method(server: RunningServer) -> None:
    status, _, body = request(http_port(server), "POST", "/invocations", b"x",
                              {"Content-Type": "text/plain"})
    assert status == 415
    assert "unsupported Content-Type" in json.loads(body)["error"]["message"]
    status, h, _ = request(http_port(server), "GET", "/invocations")
    assert status == 405
    assert h["allow"] == "POST"


def test_body_over_6_mb_is_413_before_it_is_sent(server: RunningServer) -> None:
    # Declares one byte more than the limit and sends only the first 64 KiB:
    # the answer must come at once, without waiting for the rest.
    with socket.create_connection(("127.0.0.1", http_port(server)), timeout=TIMEOUT_S) as s:
        s.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\n"
                  + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode()
                  + b" " * 65536)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]
    assert f"request body over {MAX_BODY} bytes".encode() in reply


def test_invocations_are_counted_in_metrics(server: RunningServer) -> None:
    invoke(http_port(server), {"image": image_b64(), "points": [[5, 5]], "point_labels": [1]})
    _, _, body = request(http_port(server), "GET", "/metrics")
    m = re.search(rb'sam2_requests_total\{method="Invocations",code="OK"\} (\d+)', body)
    assert m and int(m.group(1)) >= 1, body[:2000]


def test_serve_entrypoint_starts_the_endpoint(tmp_path: Path) -> None:
    """deploy/sagemaker/serve finds the model in its model directory and
    serves /ping and /invocations on $SAGEMAKER_BIND_TO_PORT."""
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "sam2.1_micro.pt").symlink_to(MODEL)
    (model_dir / "sam2.1_micro.yaml").symlink_to(MODEL.with_suffix(".yaml"))
    log = tmp_path / "serve.stderr"
    env = dict(os.environ, SAM2_MODEL_DIR=str(model_dir), SAM2_SERVER=str(SERVER_BINARY),
               SAGEMAKER_BIND_TO_PORT="0", SAM2_GRPC_ADDRESS="127.0.0.1:0")
    with open(log, "wb") as err:
        process = subprocess.Popen([str(SERVE), "--warm_up=false"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=err,
                                   stdin=subprocess.DEVNULL)
    try:
        port = 0
        deadline = time.monotonic() + TIMEOUT_S
        while not port and time.monotonic() < deadline and process.poll() is None:
            m = re.search(r"metrics at http://0\.0\.0\.0:(\d+)/metrics", log.read_text())
            port = int(m.group(1)) if m else 0
            time.sleep(0.05)
        assert port, log.read_text()
        assert request(port, "GET", "/ping")[0] == 200
        status, _, out = invoke(port, {"image": image_b64(), "points": [[9, 9]],
                                       "point_labels": [1]})
        assert status == 200, out
        assert "sam2.1_micro.pt" in log.read_text()
        # HTTP on all interfaces, as SageMaker asks, deliberately and said so.
        assert ("HTTP on 0.0.0.0:0: reachable from other machines, WITHOUT TLS OR "
                "AUTHENTICATION (--insecure_listen_any)") in log.read_text()
        assert "gRPC on 127.0.0.1:0 (loopback only)" in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()


def test_serve_entrypoint_without_a_model_says_so(tmp_path: Path) -> None:
    env = dict(os.environ, SAM2_MODEL_DIR=str(tmp_path))
    env.pop("SAM2_CHECKPOINT", None)
    r = subprocess.run([str(SERVE)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert ("no checkpoint: set SAM2_CHECKPOINT or put a .pt/.safetensors file in "
            f"{tmp_path}") in r.stderr
