"""TLS, mutual TLS and bearer tokens from Python.

The real sam2_server with --tls_cert/--tls_key (and --tls_client_ca): the
client built with tls_credentials() is served on the gRPC port and HTTPS on
the HTTP port; plaintext, an untrusted CA or (with mutual TLS) a missing
client certificate are refused; certificate files replaced on disk are served
without a restart. The token is checked against an in-process gRPC server
(mutual TLS) that records every call's metadata and the client's certificate:
unary and streaming calls all carry it. Certificates are made at test time
with the `openssl` command (scripts/install.sh installs it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from conftest import RunningServer, serving
from support import MetadataRecorder

from sam2_client import (AUTHORIZATION_HEADER, NotFound, Sam2Client, Unavailable, VideoSession,
                         tls_credentials)
from sam2_client._proto import pb

TOKEN = "py-test-token-0123456789"
SESSION = "sessions/x-" + "0" * 32
# How long a certificate reload may take to show (--tls_reload_interval=1s).
RELOAD_LIMIT_S = 30.0


@dataclass
class Pair:
    cert: Path
    key: Path


class CertAuthority:
    """A CA made with `openssl req -x509`, issuing server and client
    certificates (ECDSA P-256, valid for a day)."""

    def __init__(self, directory: Path, name: str) -> None:
        self.dir = directory
        self.name = name
        directory.mkdir(parents=True, exist_ok=True)
        self.cert = directory / f"{name}-ca.pem"
        self.key = directory / f"{name}-ca.key"
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", str(self.key), "-out", str(self.cert), "-days", "1",
                 "-subj", f"/CN={name} ca")

    def issue(self, cn: str, server: bool) -> Pair:
        stem = self.dir / f"{self.name}-{cn}"
        key, csr, cert, ext = (stem.with_suffix(s) for s in (".key", ".csr", ".pem", ".ext"))
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}")
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                       if server else "extendedKeyUsage=clientAuth\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key),
                 "-set_serial", f"0x{secrets.token_hex(8)}", "-days", "1", "-out", str(cert),
                 "-extfile", str(ext))
        return Pair(cert, key)


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True)
    assert result.returncode == 0, f"openssl {' '.join(args)}: {result.stderr}"


def _replace(path: Path, data: bytes) -> None:
    """Writes `data` over `path` atomically (as a Kubernetes secret update
    does), so the server never reads a half-written file."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _https_get(port: int, path: str, ca: Path, client: Pair | None = None) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=context,
                                timeout=30) as response:
        return response.status, response.read()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pki")
    ca = CertAuthority(root, "main")
    other = CertAuthority(root, "other")
    return {"dir": root, "ca": ca, "other": other,
            "server": ca.issue("localhost", server=True),
            "client": ca.issue("py-client", server=False),
            "stranger": other.issue("stranger", server=False)}


def _server_files(pki: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """The server's certificate and key copied where a test may replace them."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    _replace(cert, pki["server"].cert.read_bytes())
    _replace(key, pki["server"].key.read_bytes())
    return cert, key


@dataclass
class TlsServer:
    running: RunningServer
    cert: Path  # the files it serves, which a test may replace
    key: Path


@contextlib.contextmanager
def _tls_serving(pki: dict[str, Any], directory: Path,
                 extra_args: list[str]) -> Iterator[TlsServer]:
    """The real server on the pki's server certificate (copied into
    `directory`), with `extra_args`."""
    cert, key = _server_files(pki, directory)
    with serving(directory / "sam2_server.stderr",
                 [f"--tls_cert={cert}", f"--tls_key={key}", *extra_args]) as running:
        yield TlsServer(running, cert, key)


@pytest.fixture(scope="module")
def tls_server(pki: dict[str, Any],
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    with _tls_serving(pki, tmp_path_factory.mktemp("tls-server"),
                      ["--tls_reload_interval=1s"]) as server:
        yield server


@pytest.fixture(scope="module")
def mtls_server(pki: dict[str, Any],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with _tls_serving(pki, tmp_path_factory.mktemp("mtls-server"),
                      [f"--tls_client_ca={pki['ca'].cert}"]) as server:
        yield server.running


def test_tls_credentials_checks_its_arguments(pki: dict[str, Any]) -> None:
    assert isinstance(tls_credentials(), grpc.ChannelCredentials)
    assert isinstance(tls_credentials(ca_cert=pki["ca"].cert.read_bytes()),
                      grpc.ChannelCredentials)
    with pytest.raises(ValueError, match="go together"):
        tls_credentials(ca_cert=pki["ca"].cert, client_cert=pki["client"].cert)
    with pytest.raises(FileNotFoundError):
        tls_credentials(ca_cert=pki["dir"] / "missing.pem")


def test_token_is_checked_and_never_shown() -> None:
    for bad in ("short", "x" * 513, "has a space inside it", "tab\there-0123456789"):
        with pytest.raises(ValueError) as e:
            Sam2Client("127.0.0.1:1", token=bad)
        assert bad not in str(e.value)
    client = Sam2Client("127.0.0.1:1", token=TOKEN)
    try:
        assert TOKEN not in repr(client)
        assert all(TOKEN not in value for _, value in client.metadata)
    finally:
        client.close()


def test_tls_server_answers_a_client_that_trusts_its_ca(
        tls_server: TlsServer, pki: dict[str, Any]) -> None:
    log = tls_server.running.log.read_text(errors="replace")
    assert "gRPC port: TLS (certificate" in log
    assert "HTTP port: TLS (certificate" in log
    assert "metrics at https://" in log
    assert "PRIVATE KEY" not in log
    with Sam2Client(tls_server.running.address, max_retries=0,
                    credentials=tls_credentials(ca_cert=pki["ca"].cert)) as client:
        assert client.server_info().instance_id


def test_tls_server_refuses_plaintext_and_untrusted_ca(
        tls_server: TlsServer, pki: dict[str, Any]) -> None:
    address = tls_server.running.address
    with Sam2Client(address, max_retries=0, timeout=10) as plaintext:
        with pytest.raises(Unavailable):
            plaintext.server_info()
    with Sam2Client(address, max_retries=0, timeout=10,
                    credentials=tls_credentials(ca_cert=pki["other"].cert)) as untrusted:
        with pytest.raises(Unavailable):
            untrusted.server_info()


def test_https_on_the_http_port(tls_server: TlsServer, pki: dict[str, Any]) -> None:
    port = tls_server.running.http_port
    assert port > 0
    status, body = _https_get(port, "/ping", pki["ca"].cert)
    assert (status, body) == (200, b"OK\n")
    status, body = _https_get(port, "/metrics", pki["ca"].cert)
    assert status == 200 and b"sam2_" in body
    # Plaintext HTTP gets no answer; neither does a client of another CA.
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=30)
    with pytest.raises(urllib.error.URLError):
        _https_get(port, "/ping", pki["other"].cert)


def test_mtls_server_needs_a_client_certificate_from_its_ca(
        mtls_server: RunningServer, pki: dict[str, Any]) -> None:
    assert "gRPC port: mTLS (certificate" in mtls_server.log.read_text(errors="replace")
    ca = pki["ca"].cert
    good = tls_credentials(ca_cert=ca, client_cert=pki["client"].cert,
                           client_key=pki["client"].key)
    with Sam2Client(mtls_server.address, max_retries=0, credentials=good) as client:
        assert client.server_info().instance_id
    for credentials in (tls_credentials(ca_cert=ca),
                        tls_credentials(ca_cert=ca, client_cert=pki["stranger"].cert,
                                        client_key=pki["stranger"].key)):
        with Sam2Client(mtls_server.address, max_retries=0, timeout=10,
                        credentials=credentials) as refused:
            with pytest.raises(Unavailable):
                refused.server_info()
    status, _ = _https_get(mtls_server.http_port, "/ping", ca, pki["client"])
    assert status == 200
    with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError)):
        _https_get(mtls_server.http_port, "/ping", ca)


def test_replaced_certificate_is_served_without_a_restart(
        tls_server: TlsServer, pki: dict[str, Any]) -> None:
    renewed_ca = CertAuthority(pki["dir"], "renewed")
    renewed = renewed_ca.issue("localhost", server=True)
    trusting_renewed = tls_credentials(ca_cert=renewed_ca.cert)
    running = tls_server.running
    pid = running.process.pid
    _replace(tls_server.key, renewed.key.read_bytes())
    _replace(tls_server.cert, renewed.cert.read_bytes())

    def grpc_ok() -> bool:
        # A new client, so a new connection (each handshake sees the
        # certificate served now).
        with Sam2Client(running.address, max_retries=0, timeout=10,
                        credentials=trusting_renewed) as client:
            try:
                client.server_info()
                return True
            except Unavailable:
                return False

    def https_ok() -> bool:
        try:
            return _https_get(running.http_port, "/ping", renewed_ca.cert)[0] == 200
        except (urllib.error.URLError, ConnectionError, ssl.SSLError):
            return False

    for check in (grpc_ok, https_ok):
        give_up = time.monotonic() + RELOAD_LIMIT_S
        while not check() and time.monotonic() < give_up:
            time.sleep(0.1)
        assert check(), f"{check.__name__}: the renewed certificate was not served"
    assert running.process.poll() is None and running.process.pid == pid
    with Sam2Client(running.address, max_retries=0, timeout=10,
                    credentials=tls_credentials(ca_cert=pki["ca"].cert)) as old:
        with pytest.raises(Unavailable):
            old.server_info()


def test_token_and_client_certificate_on_every_kind_of_call(pki: dict[str, Any]) -> None:
    recorder = MetadataRecorder(AUTHORIZATION_HEADER)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[recorder])
    credentials = grpc.ssl_server_credentials(
        [(pki["server"].key.read_bytes(), pki["server"].cert.read_bytes())],
        root_certificates=pki["ca"].cert.read_bytes(), require_client_auth=True)
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        client_credentials = tls_credentials(ca_cert=pki["ca"].cert,
                                             client_cert=pki["client"].cert,
                                             client_key=pki["client"].key)
        with Sam2Client(f"127.0.0.1:{port}", max_retries=0, credentials=client_credentials,
                        token=TOKEN) as client:
            with pytest.raises(NotFound):
                client.server_info()
            with pytest.raises(NotFound):
                client.create_video_session([np.zeros((8, 8, 3), dtype=np.uint8)])
            with pytest.raises(NotFound):
                client.get_video_session(SESSION)
            handle = VideoSession(client, pb.VideoSession(name=SESSION))
            with pytest.raises(NotFound):
                next(handle.propagate())
    finally:
        server.stop(grace=None)
    assert recorder.calls == [
        (method, [f"Bearer {TOKEN}"])
        for method in ("GetServerInfo", "CreateVideoSession", "GetVideoSession",
                       "PropagateVideo")]
    assert recorder.client_names == [[b"py-client"]] * 4
