"""Resident memory of Meta's reference video predictor on a long video.

The counterpart of long_video_memory_benchmark.cc: the micro test model
(tests/fixtures/sam2.1-micro, built from its model.yaml with the video
predictor's settings), N generated frames (a disc moving over a gradient,
written as JPEGs, since init_state reads a folder), one object clicked on
frame 0, propagated forward; prints RSS at 30, 100 and N frames.

  .venv-reference/bin/python tests/benchmarks/reference_long_video_memory.py --frames 300
"""

import argparse
import os
import tempfile
import time

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def frame(i, h, w):
    y, x = np.mgrid[0:h, 0:w]
    cx, cy = w * (0.3 + 0.4 * ((i % 100) / 100.0)), h * 0.5
    disc = (x - cx) ** 2 + (y - cy) ** 2 < (h // 5) ** 2
    r = (x * 255 // w).astype(np.uint8)
    g = (y * 255 // h).astype(np.uint8)
    b = np.where(disc, 230, 40).astype(np.uint8)
    return np.stack([r, g, b], axis=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture", default="tests/fixtures/sam2.1-micro")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=180)
    args = ap.parse_args()
    torch.set_num_threads(2)

    cfg = OmegaConf.load(os.path.join(args.fixture, "model.yaml"))
    cfg.model._target_ = "sam2.sam2_video_predictor.SAM2VideoPredictor"
    cfg.model.binarize_mask_from_pts_for_mem_enc = True
    cfg.model.fill_hole_area = 8
    cfg.model.sam_mask_decoder_extra_args = {
        "dynamic_multimask_via_stability": True,
        "dynamic_multimask_stability_delta": 0.05,
        "dynamic_multimask_stability_thresh": 0.98,
    }
    model = instantiate(cfg.model, _recursive_=True)
    sd = torch.load(os.path.join(args.fixture, "model.pt"), map_location="cpu",
                    weights_only=True)["model"]
    model.load_state_dict(sd)
    model.eval()

    print(f"reference, {args.frames} frames {args.width}x{args.height}, "
          f"RSS at start {rss_mib():.1f} MiB")
    with tempfile.TemporaryDirectory() as d:
        for i in range(args.frames):
            Image.fromarray(frame(i, args.height, args.width)).save(
                os.path.join(d, f"{i:05d}.jpg"), quality=95)
        with torch.inference_mode():
            state = model.init_state(d)
            print(f"  after init_state (all frames loaded): RSS {rss_mib():.1f} MiB")
            model.add_new_points_or_box(
                state, frame_idx=0, obj_id=1,
                points=np.array([[args.width * 0.3, args.height * 0.5]], np.float32),
                labels=np.array([1], np.int32))
            print(f"  {'frames':>8} {'RSS MiB':>12} {'s':>8}")
            start = time.time()
            done = 0
            for _ in model.propagate_in_video(state):
                done += 1
                if done in (30, 100, args.frames) or done % 100 == 0:
                    print(f"  {done:>8} {rss_mib():>12.1f} {time.time() - start:>8.1f}",
                          flush=True)


if __name__ == "__main__":
    main()
