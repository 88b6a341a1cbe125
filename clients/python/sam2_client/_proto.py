"""The generated sam2.v1 modules (build output of build_stubs.py)."""

from __future__ import annotations

try:
    from ._generated.sam2.v1 import sam2_pb2 as pb
    from ._generated.sam2.v1 import sam2_pb2_grpc as pb_grpc
except ImportError as e:  # pragma: no cover - depends on the build step
    raise ImportError(
        "sam2_client's gRPC stubs are missing: generate them with "
        "`python clients/python/build_stubs.py` (scripts/install.sh does) "
        f"({e})") from e

__all__ = ["pb", "pb_grpc"]
