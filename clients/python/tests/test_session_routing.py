"""Session-affine routing through a real L7 proxy: nginx (Debian's, with the
configuration deploy/proxy/render_nginx_conf.py renders) in front of two
sam2_server replicas whose instance ids contain a dash, everything on
127.0.0.1. It shows that:
  (a) sessions created through the proxy spread over both replicas;
  (b) every call on a session reaches the replica that holds it (Segment,
      video prompts, a PropagateVideo stream, `sam2 remote track` and the
      C++ load tester): no NOT_FOUND at all;
  (d) a replica draining (SIGTERM, --drain_delay) keeps serving its sessions
      while new sessions land on the other one (the client retries the
      UNAVAILABLE the draining replica answers), and once it has exited its
      sessions are NOT_FOUND "the session's replica is gone", answered by
      nginx; a restarted replica takes new sessions again;
  (c) after SIGKILL of a replica its sessions are NOT_FOUND "the session's
      replica is gone", the other replica's sessions keep working and new
      sessions land on the survivor.
The renderer's own checks are tested first. Every wait is bounded; every
process is stopped at the end, also on failure."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import RunningServer, launch_server
from support import FRAMES, IMAGE, REPO_ROOT

from sam2_client import (ImageSession, NotFound, ResourceExhausted, Sam2Client, Unavailable,
                         VideoSession)

RENDER = REPO_ROOT / "deploy" / "proxy" / "render_nginx_conf.py"
SAM2_CLI = REPO_ROOT / "bazel-bin" / "client" / "sam2"
GRPCURL = REPO_ROOT / ".tools" / "bin" / "grpcurl"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
GONE = "the session's replica is gone"
DRAIN_DELAY_S = 5
REPLICA_FLAGS = ["--intra_op_threads=1", f"--drain_delay={DRAIN_DELAY_S}s",
                 "--shutdown_grace=20s"]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Polls `condition` every 50 ms for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    """A loopback port that was free a moment ago (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def instance_of(name: str) -> str:
    """The instance id inside "sessions/<instance>-<32 hex>" (the random part
    is the last 32 characters; instance ids may contain dashes)."""
    assert name.startswith("sessions/") and name[-33] == "-", name
    return name[len("sessions/"):-33]


def render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RENDER), *args], capture_output=True,
                          text=True, timeout=30)


def sam2_cli() -> Path:
    if not os.access(SAM2_CLI, os.X_OK):
        pytest.fail(f"{SAM2_CLI} is missing: `bazel build //client:sam2` (scripts/test.sh "
                    "builds it)", pytrace=False)
    return SAM2_CLI


def nginx_binary() -> str:
    if not os.access(NGINX, os.X_OK):
        pytest.fail("nginx is not installed (scripts/install.sh installs Debian's `nginx`)",
                    pytrace=False)
    return NGINX


# --- the renderer --------------------------------------------------------------------------


def test_render_rejects_bad_input(tmp_path: Path) -> None:
    prefix = str(tmp_path)
    good = ["--listen", "127.0.0.1:8080", "--prefix", prefix]
    for extra, message in [
            ([], "at least one replica"),
            (["--replica", "Replica-A=127.0.0.1:1"], "instance id 'Replica-A'"),
            (["--replica=-a=127.0.0.1:1"], "instance id '-a'"),
            (["--replica", f"{'a' * 33}=127.0.0.1:1"], "instance id"),
            (["--replica", "a=127.0.0.1:1", "--replica", "a=127.0.0.1:2"], "given twice"),
            (["--replica", "a=127.0.0.1"], "HOST:PORT"),
            (["--replica", "a=127.0.0.1:70000"], "HOST:PORT"),
            (["--replica", "a=x;y:1"], "HOST:PORT"),
            (["--replica", "a127.0.0.1:1"], "INSTANCE_ID=HOST:PORT"),
            (["--replica", "a=127.0.0.1:1", "--max-body", "1 m"], "max_body")]:
        r = render(*good, *extra)
        assert r.returncode == 2 and message in r.stderr, (extra, r.stderr)
    r = render("--listen", "127.0.0.1:8080", "--prefix", "relative/dir",
               "--replica", "a=127.0.0.1:1")
    assert r.returncode == 2 and "absolute path" in r.stderr


def test_render_maps_every_replica(tmp_path: Path) -> None:
    out = tmp_path / "nginx.conf"
    r = render("--listen", "127.0.0.1:8080", "--prefix", str(tmp_path), "--out", str(out),
               "--replica", "sam2-0=10.0.0.5:50051", "--replica", "sam2-7d9f8-abcde=[::1]:6000",
               "--replica", "default=127.0.0.1:7000")
    assert r.returncode == 0, r.stderr
    conf = out.read_text()
    assert "\n        sam2-0 sam2_replica_0;" in conf
    assert "\n        sam2-7d9f8-abcde sam2_replica_1;" in conf
    # A map parameter's name as an instance id is escaped, not a parameter.
    assert "\n        \\default sam2_replica_2;" in conf
    assert "server 10.0.0.5:50051;" in conf and "server [::1]:6000;" in conf
    assert "listen 127.0.0.1:8080 http2;" in conf
    assert f"pid {tmp_path}/nginx.pid;" in conf
    assert re.search(r"@[A-Z_]+@", conf) is None  # every placeholder filled in
    # nginx itself accepts it (syntax and every directive), without root.
    t = subprocess.run([nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(out), "-e", "stderr"],
                       capture_output=True, text=True, timeout=30)
    assert t.returncode == 0, t.stderr


# --- the replicas and the proxy ------------------------------------------------------------


class Nginx:
    """nginx with a rendered configuration, in its own process group."""

    def __init__(self, prefix: Path, replicas: list[tuple[str, int]]) -> None:
        self.prefix = prefix
        self.log = prefix / "nginx.stderr"
        self.process: subprocess.Popen[bytes] | None = None
        # A free port is picked, then bound by nginx: retried if another
        # process took it in between.
        for _ in range(3):
            self.port = free_port()
            conf = prefix / "nginx.conf"
            r = render("--listen", f"127.0.0.1:{self.port}", "--prefix", str(prefix),
                       "--out", str(conf), "--access-log", str(prefix / "access.log"),
                       *[a for inst, port in replicas
                         for a in ("--replica", f"{inst}=127.0.0.1:{port}")])
            assert r.returncode == 0, r.stderr
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(
                    [nginx_binary(), "-p", str(prefix), "-c", str(conf), "-e", "stderr"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
            process = self.process
            wait_until(lambda: process.poll() is not None or accepts(self.port), 10,
                       "nginx to listen")
            if process.poll() is None:
                return
        raise AssertionError(f"nginx did not start:\n{self.tail()}")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def tail(self) -> str:
        out = []
        for path in (self.log, self.prefix / "access.log"):
            if path.exists():
                out.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # fast shutdown, workers included
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def stop_server(server: RunningServer) -> None:
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait(timeout=10)


def healthz(server: RunningServer) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/healthz",
                                    timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0


class Cluster:
    """Replicas replica-a and replica-b behind nginx; stop() ends them all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.servers: dict[str, RunningServer] = {}
        self.retired: list[RunningServer] = []
        self.nginx: Nginx | None = None

    def start_replica(self, instance: str, port: int = 0) -> RunningServer:
        old = self.servers.get(instance)
        if old is not None:
            self.retired.append(old)
        log = self.workdir / f"{instance}-{len(self.retired)}.stderr"
        server = launch_server(log, [f"--address=127.0.0.1:{port}", f"--instance_id={instance}",
                                     *REPLICA_FLAGS])
        self.servers[instance] = server
        return server

    def diagnostics(self) -> str:
        out = [self.nginx.tail() if self.nginx else ""]
        for s in [*self.retired, *self.servers.values()]:
            out.append(f"--- {s.log.name}\n{s.log_tail()[-1500:]}")
        return "\n".join(out)

    def stop(self) -> None:
        for s in [*self.servers.values(), *self.retired]:
            stop_server(s)
        if self.nginx is not None:
            self.nginx.stop()


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    # nginx's workers may run as another user (nobody, when the test runs as
    # root): its prefix must be reachable for them, unlike pytest's tmp_path.
    prefix = Path(tempfile.mkdtemp(prefix="sam2-proxy-"))
    prefix.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    c = Cluster(tmp_path)
    try:
        a = c.start_replica("replica-a")
        b = c.start_replica("replica-b")
        c.nginx = Nginx(prefix, [("replica-a", a.port), ("replica-b", b.port)])
        yield c
    finally:
        c.stop()
        shutil.rmtree(prefix, ignore_errors=True)


def gone(call: Callable[[], object]) -> str:
    """Runs a call that must fail with the proxy's NOT_FOUND; its message."""
    with pytest.raises(NotFound) as e:
        call()
    assert GONE in str(e.value), str(e.value)
    return str(e.value)


def run_loadtest(server: str, out: Path) -> Counter[str]:
    """A short mixed load test (Segment + PropagateVideo streams, from the C++
    load tester, which sends the routing header itself); its status codes."""
    r = subprocess.run(
        [str(sam2_cli()), "loadtest", f"--server={server}", "--scenario=mix",
         "--mix=segment:3,propagate:1", "--requests=40", "--warmup=0s", "--concurrency=2",
         "--sessions=4", "--video_sessions=2", "--max_frames=3", f"--image={IMAGE}",
         f"--frames={FRAMES}", f"--json={out}"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(out.read_text())
    codes: Counter[str] = Counter()
    for level in report["levels"]:
        for scenario in level["scenarios"]:
            codes.update(scenario["status_codes"])
    assert report["cleanup"]["failed"] == 0, report["cleanup"]
    return codes


def test_sessions_stay_on_their_replica(cluster: Cluster, tmp_path: Path) -> None:
    assert cluster.nginx is not None
    proxy = cluster.nginx.address
    image = IMAGE.read_bytes()
    codes: Counter[str] = Counter()

    def ok(call: Callable[[], object]) -> None:
        call()  # any error fails the test
        codes["OK"] += 1

    with Sam2Client(proxy, timeout=30.0, max_retries=8, retry_backoff=0.05,
                    max_backoff=0.5) as client:
        try:
            # The proxy is up when a call through it is answered.
            wait_until(lambda: bool(client.server_info().instance_id), 10, "the proxy")

            # (a) 100 image sessions through the proxy, over both replicas.
            with ThreadPoolExecutor(4) as pool:
                images: list[ImageSession] = list(
                    pool.map(lambda _: client.create_image_session(image), range(100)))
            by_replica = Counter(instance_of(s.name) for s in images)
            assert set(by_replica) == {"replica-a", "replica-b"}, by_replica
            assert min(by_replica.values()) >= 25, by_replica

            # (b) Calls on every session reach its replica: Segment on each,
            # then video sessions (one per replica at least) with prompts,
            # a PropagateVideo stream and more, then the C++ load tester.
            with ThreadPoolExecutor(4) as pool:
                for result in pool.map(lambda s: s.segment(points=[(270, 220)]), images):
                    assert len(result.prompts) == 1
                    codes["OK"] += 1
            videos: list[VideoSession] = []
            while len({instance_of(v.name) for v in videos}) < 2:
                assert len(videos) < 4, [v.name for v in videos]
                videos.append(client.create_video_session(FRAMES))
            for v in videos:
                ok(lambda: v.add_prompts(0, obj_id=1, points=[(160, 90)]))
                ok(lambda: v.add_prompts(2, obj_id=2, box=(200, 40, 300, 160)))
                frames = [f.frame_index for f in v.propagate()]
                assert frames == list(range(8)), frames
                codes["OK"] += 1
                ok(lambda: v.clear_prompts(2, obj_id=2))
                info = v.info()
                assert info.object_ids == (1, 2), info
                codes["OK"] += 1
                ok(lambda: client.get_video_session(v.name))
                ok(lambda: images[0].info())
            # `sam2 remote` (the C++ client library): a video session created,
            # prompted, propagated and deleted through the proxy.
            remote = subprocess.run(
                [str(sam2_cli()), "remote", "track", "--server", proxy, "--video", str(FRAMES),
                 "--obj-id", "1", "--point", "160,90", "--out", str(tmp_path / "track")],
                capture_output=True, text=True, timeout=120)
            assert remote.returncode == 0, remote.stdout + remote.stderr
            assert "mask on 8 of 8 frames" in remote.stdout, remote.stdout
            lt = run_loadtest(proxy, tmp_path / "loadtest_proxy.json")
            assert set(lt) == {"OK"} and sum(lt.values()) == 40, lt
            # The same load directly against one replica: the same codes.
            direct = run_loadtest(cluster.servers["replica-a"].address,
                                  tmp_path / "loadtest_direct.json")
            assert direct == lt, (direct, lt)
            assert codes["OK"] >= 100 + 7 * len(videos), codes

            # Message size: up to the server's 32 MiB limit (+ framing) nginx
            # passes a request on and the server answers; beyond 33 MiB
            # nginx itself answers RESOURCE_EXHAUSTED.
            for size, says in [((32 << 20) + (1 << 19), "larger than max"),
                               ((33 << 20) + (1 << 19), "proxy's client_max_body_size")]:
                with pytest.raises(ResourceExhausted) as big:
                    client.create_image_session(b"\x89PNG" + bytes(size))
                assert says in str(big.value), (size, str(big.value))

            on_a = [s for s in images if instance_of(s.name) == "replica-a"]
            on_b = [s for s in images if instance_of(s.name) == "replica-b"]
            video_a = next(v for v in videos if instance_of(v.name) == "replica-a")
            video_b = next(v for v in videos if instance_of(v.name) == "replica-b")

            # (d) replica-a drains: SIGTERM with --drain_delay. Its sessions are
            # served during the delay; new sessions (UNAVAILABLE from it,
            # retried by the client) land on replica-b.
            a = cluster.servers["replica-a"]
            a.process.send_signal(signal.SIGTERM)
            wait_until(lambda: healthz(a) == 503, 5, "replica-a to report draining")
            for s in on_a[:5]:
                ok(lambda: s.segment(points=[(100, 100)]))
            during = [client.create_image_session(image) for _ in range(6)]
            assert {instance_of(s.name) for s in during} == {"replica-b"}, \
                [s.name for s in during]
            # Still served after those creates: the drain delay was not over.
            for s in on_a[:5]:
                ok(lambda: s.segment(points=[(120, 120)]))
            ok(lambda: video_a.add_prompts(1, obj_id=3, points=[(100, 100)]))
            assert a.process.poll() is None, "replica-a exited before the drain delay ended"
            wait_until(lambda: a.process.poll() is not None, DRAIN_DELAY_S + 25,
                       "replica-a to exit after draining")
            assert a.process.returncode == 0, a.log_tail()
            # Gone: nginx answers NOT_FOUND for its sessions, unary and stream.
            for s in on_a:
                gone(lambda: s.segment(points=[(100, 100)]))
            gone(lambda: next(video_a.propagate()))
            gone(lambda: client.delete_session(video_a.name))

            # replica-a comes back (same id and port, like a restarted pod):
            # the old sessions are NOT_FOUND from the server itself, and new
            # sessions reach it again.
            a2 = cluster.start_replica("replica-a", port=a.port)
            with pytest.raises(NotFound) as e:
                on_a[0].info()
            assert GONE not in str(e.value) and "no session" in str(e.value), str(e.value)
            # (Had a call without a session tried replica-a while it was
            # down, nginx would skip it for fail_timeout, 10 s: bounded.)
            deadline = time.monotonic() + 15
            after_restart: list[ImageSession] = []
            while not any(instance_of(s.name) == "replica-a" for s in after_restart):
                assert time.monotonic() < deadline and len(after_restart) < 40, \
                    [s.name for s in after_restart]
                after_restart.append(client.create_image_session(image))
            new_on_a = [s for s in after_restart if instance_of(s.name) == "replica-a"]

            # (c) replica-b is killed (SIGKILL): its sessions are gone, the
            # survivor's keep working, new sessions land on the survivor.
            b = cluster.servers["replica-b"]
            b.process.kill()
            b.process.wait(timeout=10)
            for s in on_b + during:
                gone(lambda: s.segment(points=[(100, 100)]))
            gone(lambda: next(video_b.propagate()))
            gone(lambda: video_b.info())
            for s in new_on_a:
                ok(lambda: s.segment(points=[(100, 100)]))
            survivors = [client.create_image_session(image) for _ in range(6)]
            assert {instance_of(s.name) for s in survivors} == {"replica-a"}, \
                [s.name for s in survivors]
            for s in survivors:
                ok(lambda: s.segment(points=[(100, 100)]))
            assert a2.process.poll() is None
            if os.access(GRPCURL, os.X_OK):  # grpc-go reads nginx's answer too
                g = subprocess.run(
                    [str(GRPCURL), "-plaintext", "-rpc-header", f"x-sam2-session: {on_b[0].name}",
                     "-d", json.dumps({"name": on_b[0].name}), proxy,
                     "sam2.v1.Sam2Service/GetImageSession"],
                    capture_output=True, text=True, timeout=30)
                assert "NotFound" in g.stderr and GONE in g.stderr, g.stdout + g.stderr

            # No replica left: a call without a session is UNAVAILABLE (which
            # clients retry), answered by nginx.
            stop_server(a2)
            with Sam2Client(proxy, timeout=10.0, max_retries=0) as once:
                with pytest.raises(Unavailable) as e2:
                    once.server_info()
            assert "no SAM 2 replica is reachable" in str(e2.value), str(e2.value)
        except BaseException:
            print(cluster.diagnostics(), file=sys.stderr)
            raise
