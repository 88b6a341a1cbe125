"""Errors: one Sam2Error subclass per gRPC status code.

Every failed call raises a subclass of Sam2Error named after its status code
(NotFound, InvalidArgument, Unavailable, ...), carrying the code, its name
and the server's message, so callers can write `except NotFound:`.
"""

from __future__ import annotations

import grpc


class Sam2Error(Exception):
    """A failed sam2.v1 call.

    Attributes:
      code: the gRPC status code.
      code_name: its name, e.g. "NOT_FOUND".
      details: the server's (or gRPC's) message.
      method: the RPC, e.g. "Segment" ("" when not known).
      attempts: how many times the call was sent (more than 1 after retries).
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, details: str, *, code: grpc.StatusCode | None = None,
                 method: str = "", attempts: int = 1) -> None:
        if code is not None:
            self.code = code
        self.details = details
        self.method = method
        self.attempts = attempts
        where = f"{method}: " if method else ""
        super().__init__(f"{where}{self.code_name}: {details}")

    @property
    def code_name(self) -> str:
        return str(self.code.name)


class Cancelled(Sam2Error):
    code = grpc.StatusCode.CANCELLED


class Unknown(Sam2Error):
    code = grpc.StatusCode.UNKNOWN


class InvalidArgument(Sam2Error):
    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(Sam2Error):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(Sam2Error):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(Sam2Error):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(Sam2Error):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(Sam2Error):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(Sam2Error):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(Sam2Error):
    code = grpc.StatusCode.ABORTED


class OutOfRange(Sam2Error):
    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(Sam2Error):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(Sam2Error):
    code = grpc.StatusCode.INTERNAL


class Unavailable(Sam2Error):
    code = grpc.StatusCode.UNAVAILABLE


class DataLoss(Sam2Error):
    code = grpc.StatusCode.DATA_LOSS


class Unauthenticated(Sam2Error):
    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: dict[grpc.StatusCode, type[Sam2Error]] = {
    cls.code: cls
    for cls in (Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound,
                AlreadyExists, PermissionDenied, ResourceExhausted,
                FailedPrecondition, Aborted, OutOfRange, Unimplemented, Internal,
                Unavailable, DataLoss, Unauthenticated)
}


def error_class(code: grpc.StatusCode) -> type[Sam2Error]:
    """The Sam2Error subclass for a status code (Sam2Error itself for OK)."""
    return _BY_CODE.get(code, Sam2Error)


def from_rpc_error(error: grpc.RpcError, method: str = "", attempts: int = 1) -> Sam2Error:
    """The Sam2Error for a grpc.RpcError raised by a call."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    cls = error_class(code)
    return cls(details or "", code=code, method=method, attempts=attempts)
