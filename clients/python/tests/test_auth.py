"""Bearer tokens and tenants, black-box: the real sam2_server binary started
with --token_file, called through the raw generated stubs with the
`authorization: Bearer <token>` metadata (and plain HTTP for the HTTP side).

It checks: no / malformed / wrong token is UNAUTHENTICATED and the message
never echoes the token; health stays open; one tenant cannot see, use or
delete another's session (the answer is the one a never-existing session
gets); the per-tenant session quota names the tenant; the token file is
re-read while the server runs (a new token works, a removed one stops
working, a broken file keeps the old tokens); the HTTP API answers 401 with
`WWW-Authenticate: Bearer` while /ping, /healthz and the page stay open;
and a bad token file stops the server at start with the line number and
without the token. One browser test checks the page asks for a token, keeps
it and works with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from cdp import Browser, find_chromium
from conftest import RunningServer, serving
from sam2_client._generated.sam2.v1 import sam2_pb2 as pb
from sam2_client._generated.sam2.v1 import sam2_pb2_grpc as pb_grpc
from support import IMAGE, MODEL, REPO_ROOT, SERVER_BINARY

ACME = "acme-token-0123456789abcdef"
LABS = "labs-token-0123456789abcdef"
NEWCO = "newco-token-0123456789abcdef"
WRONG = "wrong-token-0123456789abcdef"
RELOAD_TIMEOUT_S = 30.0
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
# grpc.health.v1.HealthCheckResponse{status: SERVING}, hand-encoded (the
# client venv has no grpcio-health-checking).
HEALTH_SERVING = b"\x08\x01"


def write_tokens(path: Path, text: str) -> None:
    """Replaces the file atomically (a new inode), as deployment tools do."""
    tmp = path.with_suffix(".new")
    tmp.write_text(text)
    os.replace(tmp, path)


def initial_tokens() -> str:
    # acme's token is given as its SHA-256: the file need not hold it.
    digest = hashlib.sha256(ACME.encode()).hexdigest()
    return (f"# test tenants\nacme sha256:{digest} max_sessions=2\n"
            f"labs {LABS}\n")


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "tokens.txt"
    write_tokens(path, initial_tokens())
    return path


@pytest.fixture(scope="module")
def auth_server(tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serving(tmp_path_factory.mktemp("auth-server") / "sam2_server.stderr",
                 [f"--token_file={tokens}", "--token_reload_interval=100ms"]) as running:
        yield running


@pytest.fixture(scope="module")
def stub(auth_server: RunningServer) -> Iterator[pb_grpc.Sam2ServiceStub]:
    with grpc.insecure_channel(auth_server.address) as channel:
        yield pb_grpc.Sam2ServiceStub(channel)  # type: ignore[no-untyped-call]


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def code_and_message(call: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    return call.code(), call.details() or ""


def create_image(stub: pb_grpc.Sam2ServiceStub, token: str) -> pb.ImageSession:
    session: pb.ImageSession = stub.CreateImageSession(
        pb.CreateImageSessionRequest(image=IMAGE.read_bytes()), metadata=bearer(token),
        timeout=60)
    return session


def click(stub: pb_grpc.Sam2ServiceStub, token: str, name: str) -> pb.SegmentResponse:
    response: pb.SegmentResponse = stub.Segment(
        pb.SegmentRequest(session=name, points=[pb.Point(x=30, y=20, label=1)]),
        metadata=bearer(token), timeout=60)
    return response


def never_existed(stub: pb_grpc.Sam2ServiceStub) -> str:
    """A well-formed session name of this server that never existed."""
    info = stub.GetServerInfo(pb.GetServerInfoRequest(), metadata=bearer(LABS), timeout=30)
    return f"sessions/{info.instance_id}-{'0' * 32}"


def generic(error: grpc.RpcError, name: str) -> str:
    """The error with the session id replaced by X, to compare answers."""
    return f"{error.code()}: {(error.details() or '').replace(name.split('/', 1)[1], 'X')}"


def test_missing_malformed_wrong_and_right_tokens(stub: pb_grpc.Sam2ServiceStub) -> None:
    request = pb.GetServerInfoRequest()
    with pytest.raises(grpc.RpcError) as missing:
        stub.GetServerInfo(request, timeout=30)
    assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "missing bearer token" in (missing.value.details() or "")
    with pytest.raises(grpc.RpcError) as basic:
        stub.GetServerInfo(request, metadata=[("authorization", f"Basic {ACME}")], timeout=30)
    assert basic.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert ACME not in (basic.value.details() or "")
    with pytest.raises(grpc.RpcError) as wrong:
        stub.GetServerInfo(request, metadata=bearer(WRONG), timeout=30)
    assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not accepted" in (wrong.value.details() or "")
    assert WRONG not in (wrong.value.details() or "")
    # acme's line holds only the SHA-256 of its token.
    assert stub.GetServerInfo(request, metadata=bearer(ACME), timeout=30).instance_id


def test_health_stays_open(auth_server: RunningServer) -> None:
    with grpc.insecure_channel(auth_server.address) as channel:
        reply = channel.unary_unary(HEALTH_CHECK)(b"", timeout=30)
    assert reply == HEALTH_SERVING


def test_tenants_cannot_see_each_others_sessions(stub: pb_grpc.Sam2ServiceStub) -> None:
    mine = create_image(stub, LABS)
    never = never_existed(stub)
    with pytest.raises(grpc.RpcError) as baseline:
        click(stub, ACME, never)
    assert baseline.value.code() == grpc.StatusCode.NOT_FOUND

    with pytest.raises(grpc.RpcError) as segment:
        click(stub, ACME, mine.name)
    assert generic(segment.value, mine.name) == generic(baseline.value, never)
    with pytest.raises(grpc.RpcError) as get:
        stub.GetImageSession(pb.GetSessionRequest(name=mine.name), metadata=bearer(ACME),
                             timeout=30)
    assert generic(get.value, mine.name) == generic(baseline.value, never)
    with pytest.raises(grpc.RpcError) as delete:
        stub.DeleteSession(pb.DeleteSessionRequest(name=mine.name), metadata=bearer(ACME),
                           timeout=30)
    assert generic(delete.value, mine.name) == generic(baseline.value, never)

    # Its owner still has it, and after deleting it only the owner learns why.
    assert click(stub, LABS, mine.name).prompts
    stub.DeleteSession(pb.DeleteSessionRequest(name=mine.name), metadata=bearer(LABS),
                       timeout=30)
    with pytest.raises(grpc.RpcError) as owner:
        click(stub, LABS, mine.name)
    assert "was deleted" in (owner.value.details() or "")
    with pytest.raises(grpc.RpcError) as other:
        click(stub, ACME, mine.name)
    assert generic(other.value, mine.name) == generic(baseline.value, never)


def test_session_quota_names_the_tenant(stub: pb_grpc.Sam2ServiceStub) -> None:
    made = [create_image(stub, ACME), create_image(stub, ACME)]
    try:
        with pytest.raises(grpc.RpcError) as third:
            create_image(stub, ACME)
        assert third.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "tenant 'acme' session quota of 2 reached" in (third.value.details() or "")
    finally:
        for s in made:
            stub.DeleteSession(pb.DeleteSessionRequest(name=s.name), metadata=bearer(ACME),
                               timeout=30)


def _accepted(stub: pb_grpc.Sam2ServiceStub, token: str) -> bool:
    try:
        stub.GetServerInfo(pb.GetServerInfoRequest(), metadata=bearer(token), timeout=30)
        return True
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e
        return False


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + RELOAD_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_token_file_is_reloaded_while_serving(stub: pb_grpc.Sam2ServiceStub, tokens: Path,
                                              auth_server: RunningServer) -> None:
    try:
        write_tokens(tokens, f"labs {LABS}\nnewco {NEWCO}\n")
        _wait(lambda: _accepted(stub, NEWCO), "the new token to be accepted")
        assert not _accepted(stub, ACME)
        # A broken file keeps the tokens in force and is logged by line,
        # never with a token.
        write_tokens(tokens, f"labs {LABS}\nbroken {LABS}\n")
        _wait(lambda: "keeping the previous tokens" in auth_server.log.read_text(),
              "the broken file to be reported")
        assert _accepted(stub, NEWCO)
        log = auth_server.log.read_text()
        assert "line 2" in log
        assert LABS not in log and NEWCO not in log and ACME not in log
    finally:
        write_tokens(tokens, initial_tokens())
        _wait(lambda: _accepted(stub, ACME), "the original tokens to be back")


def _http(port: int, path: str, token: str = "", data: bytes | None = None,
          content_type: str = "application/json") -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


def test_http_api_answers_401_until_a_token_is_sent(auth_server: RunningServer) -> None:
    """The 401 path the page relies on, without a browser."""
    port = auth_server.http_port
    status, headers, body = _http(port, "/api/v1/info")
    assert status == 401
    assert headers.get("WWW-Authenticate") == "Bearer"
    error = json.loads(body)["error"]
    assert error["code"] == "UNAUTHENTICATED" and "missing bearer token" in error["message"]
    status, _, body = _http(port, "/api/v1/info", WRONG)
    assert status == 401 and WRONG.encode() not in body
    status, _, body = _http(port, "/api/v1/info", LABS)
    assert status == 200 and json.loads(body)["instanceId"]
    status, _, _ = _http(port, "/invocations", data=b"{}")
    assert status == 401
    for open_path in ("/ping", "/healthz", "/ui/", "/metrics"):
        assert _http(port, open_path)[0] == 200, open_path
    # The page carries the token form its script shows on a 401.
    assert b'id="token-form"' in _http(port, "/ui/")[2]
    metrics = _http(port, "/metrics")[2].decode()
    assert re.search(r'^sam2_auth_failures_total\{reason="missing"\} [1-9]', metrics, re.M)


def test_bad_token_file_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(f"acme {ACME}\nlabs {ACME}\n")
    log = tmp_path / "stderr"
    with open(log, "wb") as err:
        code = subprocess.run(
            [str(SERVER_BINARY), "--address=127.0.0.1:0", "--http_address=127.0.0.1:0",
             f"--fallback_checkpoint={MODEL}", "--warm_up=false", f"--token_file={path}"],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
            timeout=120).returncode
    text = log.read_text()
    assert code != 0
    assert "line 2" in text and "same token as tenant 'acme'" in text
    assert ACME not in text


def test_page_asks_for_a_token_and_uses_it(auth_server: RunningServer, tmp_path: Path) -> None:
    executable = find_chromium()
    if executable is None:
        pytest.fail("chromium is not installed: run scripts/install.sh", pytrace=False)
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    browser = Browser(executable, profile)
    try:
        browser.navigate(f"http://127.0.0.1:{auth_server.http_port}/ui/")
        browser.wait_for("(() => { const f = document.querySelector('#token-form');"
                         " return f !== null && !f.hidden; })()",
                         what="the token form")
        reason = browser.evaluate("document.querySelector('#token-reason').textContent")
        assert "missing bearer token" in reason
        browser.evaluate(f"document.querySelector('#token-input').value = '{LABS}';"
                         " document.querySelector('#token-form').requestSubmit(); true")
        browser.wait_for("document.body && document.body.dataset.ready === 'true'",
                         what="the page to load with the token")
        assert browser.evaluate("document.querySelector('#token-form').hidden")
        assert browser.evaluate("document.querySelector('#error').hidden")
        assert "instance" in browser.evaluate("document.querySelector('#server').textContent")
        assert browser.evaluate("sessionStorage.getItem('sam2.bearerToken')") == LABS
    finally:
        browser.close()
