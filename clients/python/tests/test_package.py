"""The package itself: stubs regenerate when the proto changes, the typed
marker ships, and mypy --strict passes."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import build_stubs
import pytest
from support import CLIENT_DIR, REPO_ROOT

import sam2_client


def test_stubs_are_fresh() -> None:
    assert build_stubs.why_stale() is None
    generated = Path(sam2_client.__file__).parent / "_generated" / "sam2" / "v1"
    assert (generated / "sam2_pb2.pyi").is_file()


def test_stubs_regenerate_when_the_proto_changes(tmp_path: Path) -> None:
    proto_root = tmp_path / "protos"
    shutil.copytree(REPO_ROOT / "protos" / "sam2", proto_root / "sam2")
    out = tmp_path / "pkg" / "_generated"
    assert build_stubs.why_stale(proto_root, out) is not None
    assert build_stubs.ensure_fresh(proto_root, out) is True
    assert build_stubs.why_stale(proto_root, out) is None
    assert build_stubs.ensure_fresh(proto_root, out) is False
    grpc_module = (out / "sam2" / "v1" / "sam2_pb2_grpc.py").read_text()
    assert "from . import sam2_pb2 as" in grpc_module
    assert "from sam2.v1 import" not in grpc_module

    proto = proto_root / build_stubs.PROTO
    proto.write_text(proto.read_text() + "\nmessage AddedLater { int32 x = 1; }\n")
    assert "changed" in (build_stubs.why_stale(proto_root, out) or "")
    assert build_stubs.ensure_fresh(proto_root, out) is True
    assert "AddedLater" in (out / "sam2" / "v1" / "sam2_pb2.pyi").read_text()


def test_build_stubs_check_flag() -> None:
    result = subprocess.run([sys.executable, str(CLIENT_DIR / "build_stubs.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_py_typed_marker() -> None:
    assert (Path(sam2_client.__file__).parent / "py.typed").is_file()


def test_mypy_strict() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(CLIENT_DIR / "pyproject.toml"),
         "--cache-dir", str(CLIENT_DIR / ".mypy_cache")],
        cwd=CLIENT_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
