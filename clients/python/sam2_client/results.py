"""Plain result types of the client: dataclasses with NumPy masks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

# A decoded mask: bool (H, W) for RLE and PNG, float32 logits for "logits".
MaskArray = npt.NDArray[Any]


@dataclass(frozen=True)
class Limits:
    """The limits a server enforces (requests beyond them are rejected)."""

    max_message_bytes: int
    max_image_side: int
    max_image_pixels: int
    max_points: int
    max_boxes: int
    max_objects: int
    max_video_frames: int
    max_video_side: int
    max_video_upload_bytes: int
    idle_ttl_seconds: int
    absolute_ttl_seconds: int
    max_sessions: int


@dataclass(frozen=True)
class WorkerInfo:
    """One worker of a server: a device the model runs on."""

    device: str  # "cpu", "cuda:0"
    precision: str  # "float32" or "bfloat16"
    # GPU only (0 on the CPU): the device's memory, and what was free after
    # the weights were loaded, when the server started.
    memory_total_bytes: int
    memory_free_bytes: int
    # Bytes the sessions pinned to this worker may hold together.
    session_budget_bytes: int
    # Speed relative to the fastest worker (1.0); new sessions are placed in
    # proportion to it. encoder_ms: its measured image-encoder time (0.0 when
    # the server did not time its workers).
    relative_speed: float = 1.0
    encoder_ms: float = 0.0


@dataclass(frozen=True)
class ServerInfo:
    """What a server runs (GetServerInfo)."""

    instance_id: str
    model_variant: str
    checkpoint: str
    # True for the bundled random-weight test model: its masks mean nothing.
    meaningless_masks: bool
    warning: str
    image_size: int
    devices: tuple[str, ...]
    limits: Limits
    version: str
    workers: tuple[WorkerInfo, ...] = ()


@dataclass(frozen=True)
class MaskRef:
    """Points at one mask of an earlier Segment result of the same session,
    to feed back as a mask prompt (the refinement loop)."""

    result_id: int
    prompt_index: int = 0
    mask_index: int = 0


@dataclass(frozen=True)
class PromptMasks:
    """The masks of one prompt set: (K, H, W) masks and (K,) predicted IoUs."""

    masks: MaskArray
    scores: npt.NDArray[np.float32]

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.scores))


@dataclass(frozen=True)
class SegmentResult:
    """One Segment call's masks.

    `masks` and `scores` follow the reference's SAM2ImagePredictor.predict:
    (K, H, W) and (K,) for one prompt set, (P, K, H, W) and (P, K) when
    several boxes were sent (one prompt set per box). K is 3 with multimask
    output, else 1. Masks are bool at the image's size, or float32
    low-resolution logits with mask_format="logits".
    """

    prompts: tuple[PromptMasks, ...]
    result_id: int
    expire_time: datetime | None = None

    @property
    def masks(self) -> MaskArray:
        if len(self.prompts) == 1:
            return self.prompts[0].masks
        stacked: MaskArray = np.stack([p.masks for p in self.prompts])
        return stacked

    @property
    def scores(self) -> npt.NDArray[np.float32]:
        if len(self.prompts) == 1:
            return self.prompts[0].scores
        return np.stack([p.scores for p in self.prompts])

    def best_index(self, prompt_index: int = 0) -> int:
        """The index of the mask with the highest predicted IoU."""
        return self.prompts[prompt_index].best_index

    def best_mask(self, prompt_index: int = 0) -> MaskArray:
        """The mask with the highest predicted IoU."""
        p = self.prompts[prompt_index]
        best: MaskArray = p.masks[p.best_index]
        return best

    def ref(self, mask_index: int | None = None, prompt_index: int = 0) -> MaskRef:
        """A reference to one of these masks (default: the best one), for
        `ImageSession.segment(mask_input=...)`."""
        if mask_index is None:
            mask_index = self.best_index(prompt_index)
        return MaskRef(self.result_id, prompt_index, mask_index)


@dataclass(frozen=True)
class GeneratedMask:
    """One automatic mask (SAM2AutomaticMaskGenerator's record)."""

    mask: MaskArray
    # x, y, width, height in pixels (the reference's XYWH).
    bbox: tuple[float, float, float, float]
    area: int
    predicted_iou: float
    stability_score: float
    # The point prompt that produced the mask, in pixels.
    point: tuple[float, float]
    # The crop the mask was found in: x, y, width, height.
    crop_box: tuple[int, ...]


class FrameMasks(NamedTuple):
    """Every object's mask on one video frame; unpacks as
    `frame_index, masks, scores`."""

    frame_index: int
    # object id -> mask (bool (H, W), or float32 logits).
    masks: dict[int, MaskArray]
    # object id -> object-presence logit (> 0: visible on the frame).
    scores: dict[int, float]


@dataclass(frozen=True)
class RemoveObjectResult:
    """The objects left, and the frames where the removed object had prompts,
    with the remaining objects' masks there recomputed (none when it had no
    prompts left)."""

    object_ids: tuple[int, ...]
    updated_frames: tuple[FrameMasks, ...]


@dataclass(frozen=True)
class ImageInfo:
    """An image session as the server describes it."""

    name: str
    height: int
    width: int
    bytes_held: int
    create_time: datetime | None
    expire_time: datetime | None


@dataclass(frozen=True)
class VideoInfo:
    """A video session as the server describes it."""

    name: str
    num_frames: int
    height: int
    width: int
    # Objects prompted so far, in the order they were added.
    object_ids: tuple[int, ...]
    # object id -> the frames with prompts for it.
    prompted_frames: dict[int, tuple[int, ...]] = field(default_factory=dict)
    bytes_held: int = 0
    # "video_file" or "frames" (the latter accepts append_frames).
    source: str = ""
    create_time: datetime | None = None
    expire_time: datetime | None = None
