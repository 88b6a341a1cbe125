"""Status codes map to Sam2Error subclasses; only UNAVAILABLE is retried."""

from __future__ import annotations

import socket
import time

import grpc
import pytest
from support import IMAGE

import sam2_client
from sam2_client import (Aborted, InvalidArgument, NotFound, Sam2Client, Sam2Error,
                         Unavailable, error_class)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_every_code_has_its_class() -> None:
    for code in grpc.StatusCode:
        if code == grpc.StatusCode.OK:
            continue
        cls = error_class(code)
        assert issubclass(cls, Sam2Error) and cls is not Sam2Error
        assert cls.code == code
        # Named after the code: NOT_FOUND -> NotFound.
        assert cls.__name__ == code.name.title().replace("_", "")
        assert getattr(sam2_client, cls.__name__) is cls
    err = NotFound("gone", method="Segment")
    assert err.code_name == "NOT_FOUND"
    assert str(err) == "Segment: NOT_FOUND: gone"


def test_closed_port_raises_unavailable_after_retries() -> None:
    address = f"127.0.0.1:{_closed_port()}"
    with Sam2Client(address, timeout=5.0, max_retries=3, retry_backoff=0.001,
                    max_backoff=0.002) as client:
        start = time.monotonic()
        with pytest.raises(Unavailable) as e:
            client.server_info()
        elapsed = time.monotonic() - start
    assert e.value.attempts == 4  # the first try and 3 retries
    assert e.value.code == grpc.StatusCode.UNAVAILABLE
    assert e.value.method == "GetServerInfo"
    assert elapsed < 5.0
    with Sam2Client(address, max_retries=0) as client:
        with pytest.raises(Unavailable) as e:
            client.create_image_session(IMAGE)
    assert e.value.attempts == 1


def test_backoff_grows_and_is_capped() -> None:
    client = Sam2Client("127.0.0.1:1", retry_backoff=0.1, max_backoff=0.3)
    try:
        for retry, most in [(1, 0.1), (2, 0.2), (3, 0.3), (10, 0.3)]:
            delay = client._backoff(retry)
            assert most / 2 <= delay <= most
    finally:
        client.close()


def _unknown_session(client: Sam2Client) -> str:
    """A well-formed name of a session this server never issued."""
    return f"sessions/{client.server_info().instance_id}-{'0' * 32}"


def test_other_codes_are_not_retried(client: Sam2Client) -> None:
    with pytest.raises(NotFound) as e:
        client.get_image_session(_unknown_session(client))
    assert e.value.attempts == 1
    with pytest.raises(InvalidArgument) as e1:
        client.get_image_session("sessions/nosuchsession")  # malformed id
    assert e1.value.attempts == 1
    with pytest.raises(InvalidArgument) as e2:
        client.create_image_session(b"\x89PNG\r\n\x1a\n but truncated")
    assert e2.value.attempts == 1


def test_tls_channel_to_a_plaintext_server_is_unavailable(server: object) -> None:
    address = getattr(server, "address")
    creds = grpc.ssl_channel_credentials()
    with Sam2Client(address, timeout=10.0, max_retries=0, credentials=creds) as client:
        with pytest.raises(Unavailable):
            client.server_info()


def test_exceptions_are_catchable_as_sam2error(client: Sam2Client) -> None:
    with pytest.raises(Sam2Error):
        client.delete_session(_unknown_session(client))
    assert not issubclass(Aborted, NotFound)
