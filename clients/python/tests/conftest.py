"""Fixtures: the real sam2_server binary on a free port, and clients of it.

The server is built by `bazel build //server:sam2_server` (scripts/test.sh
runs it before pytest); nothing here builds anything. The stubs are
regenerated first when protos/sam2/v1/sam2.proto changed since they were.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import CLIENT_DIR, MODEL, REPO_ROOT, SERVER_BINARY

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0

# Fresh stubs before sam2_client is imported by any test module.
sys.path.insert(0, str(CLIENT_DIR))
import build_stubs  # noqa: E402

if build_stubs.ensure_fresh():
    print("conftest: regenerated the sam2_client stubs (the proto changed)", file=sys.stderr)

from sam2_client import Sam2Client  # noqa: E402


class RunningServer:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path,
                 drain: threading.Thread | None = None) -> None:
        self.process = process
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self.log = log
        # The thread that keeps reading the server's stdout.
        self.drain = drain
        # "sam2_server: metrics at http://127.0.0.1:N/metrics" (https:// with
        # TLS) is on stderr before the port line is on stdout.
        m = re.search(r"metrics at https?://127\.0\.0\.1:(\d+)/metrics",
                      log.read_text(errors="replace"))
        self.http_port = int(m.group(1)) if m else 0

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def _read_port(process: subprocess.Popen[bytes], log: Path) -> int:
    """Reads stdout until "sam2_server listening on port N"."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    pattern = re.compile(rb"sam2_server listening on port (\d+)")
    deadline = time.monotonic() + START_TIMEOUT_S
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break  # stdout closed: the server exited
            buf += chunk
            m = pattern.search(buf)
            if m:
                return int(m.group(1))
        elif process.poll() is not None:
            break
    process.kill()
    process.wait()
    raise RuntimeError(
        f"sam2_server did not report its port (exit code {process.returncode}); "
        f"stdout: {buf[-2000:]!r}\nstderr:\n{log.read_text(errors='replace')[-4000:]}")


def launch_server(log: Path, extra_args: list[str] | None = None) -> RunningServer:
    """Starts bazel-bin/server/sam2_server on free loopback ports with the
    micro model (stderr to `log`; `extra_args` after the defaults, so they
    win) and returns once it printed its port. float32, not the server's
    default `auto`: the tests compare masks with the reference's float32
    results, and bf16 CPUs would otherwise compute in bfloat16."""
    if not os.access(SERVER_BINARY, os.X_OK):
        pytest.fail(
            f"{SERVER_BINARY} is missing: build it first with "
            "`bazel build //server:sam2_server` (scripts/test.sh does)", pytrace=False)
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [str(SERVER_BINARY), "--address=127.0.0.1:0", "--http_address=127.0.0.1:0",
             f"--fallback_checkpoint={MODEL}", "--warm_up=false", "--precision=float32",
             *(extra_args or [])],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
    port = _read_port(process, log)
    # Keep draining stdout so that the server never blocks on a full pipe.
    assert process.stdout is not None
    stdout = process.stdout
    drain = threading.Thread(target=lambda: stdout.read(), daemon=True)
    drain.start()
    return RunningServer(process, port, log, drain)


def stop_server(running: RunningServer) -> str | None:
    """Stops a launched server with SIGTERM; what went wrong (with the tail
    of its log) unless it exited 0 within STOP_TIMEOUT_S, else None."""
    process = running.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return (f"sam2_server did not stop within {STOP_TIMEOUT_S} s of SIGTERM\n"
                f"{running.log_tail()}")
    if running.drain is not None:
        running.drain.join(timeout=5)
    if code != 0:
        return f"sam2_server exited with {code} after SIGTERM\n{running.log_tail()}"
    return None


@contextlib.contextmanager
def serving(log: Path, extra_args: list[str] | None = None) -> Iterator[RunningServer]:
    """launch_server, then stop_server on exit; a server that does not stop
    cleanly fails the test."""
    running = launch_server(log, extra_args)
    try:
        yield running
    finally:
        complaint = stop_server(running)
        if complaint:
            pytest.fail(complaint)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serving(tmp_path_factory.mktemp("server") / "sam2_server.stderr") as running:
        yield running


@pytest.fixture(scope="session")
def client(server: RunningServer) -> Iterator[Sam2Client]:
    with Sam2Client(server.address, timeout=60.0) as c:
        yield c
