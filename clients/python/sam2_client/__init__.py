"""sam2_client: a typed Python client for the SAM 2 segmentation and tracking
service (sam2.v1.Sam2Service).

    from sam2_client import Sam2Client

    with Sam2Client("localhost:50051") as client:
        with client.create_image_session("photo.jpg") as image:
            result = image.segment(points=[(270, 220)], labels=[1])
            best = result.best_mask()          # bool (H, W)

See clients/python/README.md.
"""

from .client import (AUTHORIZATION_HEADER, DEFAULT_CHUNK_BYTES, SESSION_HEADER, Direction,
                     ImageSession, MaskFormat, Propagation, Sam2Client, VideoSession,
                     routing_metadata, tls_credentials)
from .errors import (Aborted, AlreadyExists, Cancelled, DataLoss, DeadlineExceeded,
                     FailedPrecondition, Internal, InvalidArgument, NotFound, OutOfRange,
                     PermissionDenied, ResourceExhausted, Sam2Error, Unauthenticated,
                     Unavailable, Unimplemented, Unknown, error_class)
from .masks import (logits_to_array, mask_to_png, mask_to_rle, png_to_mask, rle_to_mask)
from .results import (FrameMasks, GeneratedMask, ImageInfo, Limits, MaskArray, MaskRef,
                      PromptMasks, RemoveObjectResult, SegmentResult, ServerInfo, VideoInfo,
                      WorkerInfo)

__version__ = "0.1.0"

__all__ = [
    "Sam2Client", "ImageSession", "VideoSession", "Propagation", "MaskFormat", "Direction",
    "DEFAULT_CHUNK_BYTES", "SESSION_HEADER", "routing_metadata",
    "AUTHORIZATION_HEADER", "tls_credentials",
    "ServerInfo", "Limits", "SegmentResult", "PromptMasks", "MaskRef", "GeneratedMask",
    "FrameMasks", "RemoveObjectResult", "ImageInfo", "VideoInfo", "WorkerInfo", "MaskArray",
    "Sam2Error", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
    "Unauthenticated", "error_class",
    "rle_to_mask", "mask_to_rle", "png_to_mask", "mask_to_png", "logits_to_array",
]
