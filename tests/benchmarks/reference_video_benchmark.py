#!/usr/bin/env python3
"""Benchmarks Meta's SAM 2 reference video predictor (Python) on the CPU or a GPU.

The counterpart of tests/benchmarks/video_propagation_benchmark.cc: builds a
full-size model with build_sam2_video_predictor from an official config with
the reference's own random initialisation (torch.manual_seed(0), no
checkpoint) or --checkpoint weights, generates the same synthetic video as
the C++ benchmark (three coloured discs moving across a gradient, --frames
frames of --width x --height), writes it as JPEG files to a temporary folder
(init_state takes a folder), and for each object count (--objects, default
1,3):

  - init_state on the folder (loads and preprocesses every frame, computes
    frame 0's features; reported, not part of the per-frame figure),
  - one positive click per object on frame 0 (object k on disc k),
  - propagate_in_video forward from frame 0, timing each yielded frame (the
    time between two consecutive yields; the first, prompted frame is
    excluded).

Prints a table and one JSON line per object count
({"impl": "reference", "objects": N, "frame_ms_median": ...}).
--save-checkpoint writes the random weights in the official checkpoint layout
({"model": state_dict}) so the C++ side can load the very same model.

Needs the reference environment (scripts/install.sh --reference):

  .venv-reference/bin/python tests/benchmarks/reference_video_benchmark.py \\
      --threads 2 --frames 12 --save-checkpoint /tmp/sam2.1_hiera_t_random_video.pt
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import reference_device

MAX_OBJECTS = 3  # the scene has three discs; one object per disc
MIN_SIDE = 64
JPEG_QUALITY = 95


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    reference_device.add_arguments(p)
    p.add_argument("--config", default="configs/sam2.1/sam2.1_hiera_t.yaml",
                   help="config name inside the sam2 package (default: %(default)s)")
    p.add_argument("--checkpoint", default=None,
                   help="load these weights (official .pt layout) instead of random ones")
    p.add_argument("--threads", type=int, default=2,
                   help="torch.set_num_threads (default: %(default)s)")
    p.add_argument("--frames", type=int, default=12,
                   help="frames in the generated video (default: %(default)s)")
    p.add_argument("--width", type=int, default=1024, help="frame width (default: %(default)s)")
    p.add_argument("--height", type=int, default=576, help="frame height (default: %(default)s)")
    p.add_argument("--objects", default="1,3",
                   help="comma-separated object counts, each 1..3 (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="torch.manual_seed before building the model (default: %(default)s)")
    p.add_argument("--save-checkpoint", metavar="PATH.pt", default=None,
                   help='write torch.save({"model": model.state_dict()}, PATH.pt)')
    args = p.parse_args(argv)
    if args.threads < 1 or args.frames < 2 or min(args.width, args.height) < MIN_SIDE:
        p.error(f"--threads must be >= 1, --frames >= 2, --width/--height >= {MIN_SIDE}")
    try:
        args.object_counts = [int(x) for x in args.objects.split(",")]
    except ValueError:
        p.error("--objects: comma-separated integers")
    if any(n < 1 or n > MAX_OBJECTS for n in args.object_counts):
        p.error(f"--objects: each count must be in 1..{MAX_OBJECTS}")
    return args


def disc_at(k, t, width, height):
    """Disc k on frame t: centre and radius (the C++ benchmark's DiscAt)."""
    r = min(width, height) / 10.0
    return (width * (0.2 + 0.3 * k) + t * width / 200.0,
            height * (0.35 + 0.15 * k) + t * height / 300.0, r)


def make_frame(np, t, width, height):
    """RGB uint8 [H, W, 3], as MakeFrame in the C++ benchmark."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = x * (255.0 / width) * 0.6
    g = y * (255.0 / height) * 0.6
    b = (x + y) * (255.0 / (width + height)) * 0.5 + 40
    colours = [(230, 40, 40), (40, 220, 60), (50, 60, 235)]
    for k in range(MAX_OBJECTS):
        cx, cy, rad = disc_at(k, t, width, height)
        inside = (x - cx) ** 2 + (y - cy) ** 2 < rad * rad
        r = np.where(inside, colours[k][0], r)
        g = np.where(inside, colours[k][1], g)
        b = np.where(inside, colours[k][2], b)
    return np.clip(np.round(np.stack([r, g, b], axis=2)), 0, 255).astype(np.uint8)


def summary(times_s):
    ms = [t * 1000.0 for t in times_s]
    return {"median": statistics.median(ms), "min": min(ms), "max": max(ms), "n": len(ms)}


def run_once(place, predictor, video_dir, objects, width, height):
    t0 = time.perf_counter()
    state = predictor.init_state(video_path=video_dir)
    place.sync()
    t1 = time.perf_counter()
    for k in range(objects):
        cx, cy, _ = disc_at(k, 0, width, height)
        predictor.add_new_points_or_box(
            state, frame_idx=0, obj_id=k + 1,
            points=[[cx, cy]], labels=[1])
    place.sync()
    t2 = time.perf_counter()
    frame_times = []
    last = None
    for _frame_idx, _obj_ids, _masks in predictor.propagate_in_video(state):
        place.sync()
        now = time.perf_counter()
        if last is not None:
            frame_times.append(now - last)
        last = now
    return {"frame": summary(frame_times), "init_ms": (t1 - t0) * 1000.0,
            "prompt_ms": (t2 - t1) * 1000.0}


def main(argv):
    args = parse_args(argv)

    import numpy as np
    import torch
    from PIL import Image

    torch.set_num_threads(args.threads)
    place = reference_device.Placement(torch, args.device, args.precision)
    try:
        from importlib.metadata import version
        sam2_version = version("sam2")
    except Exception:  # pragma: no cover - metadata missing
        sam2_version = "unknown"
    from sam2.build_sam import build_sam2_video_predictor

    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    predictor = build_sam2_video_predictor(
        args.config, ckpt_path=args.checkpoint, device=str(place.device), mode="eval")
    build_s = time.perf_counter() - t0
    if args.save_checkpoint:
        torch.save({"model": {k: v.cpu() for k, v in predictor.state_dict().items()}},
                   args.save_checkpoint)

    results = []
    with tempfile.TemporaryDirectory(prefix="sam2_video_bench_") as video_dir:
        for t in range(args.frames):
            Image.fromarray(make_frame(np, t, args.width, args.height)).save(
                os.path.join(video_dir, f"{t:05d}.jpg"), quality=JPEG_QUALITY)
        with torch.inference_mode(), place.autocast():
            for objects in args.object_counts:
                r = run_once(place, predictor, video_dir, objects, args.width, args.height)
                results.append((objects, r))

    source = args.checkpoint or f"random weights seed {args.seed}"
    print(f"SAM 2 reference video predictor (sam2 {sam2_version}, torch {torch.__version__}), "
          f"{args.config}, {source}")
    print(f"{place.name()} {args.precision}, {torch.get_num_threads()} threads, {args.frames} frames "
          f"{args.width}x{args.height}")
    print(f"{'objects':<8}{'frame ms med':>14}{'min ms':>10}{'max ms':>10}{'runs':>6}"
          f"{'prompt ms':>11}{'init ms':>10}")
    lines = []
    for objects, r in results:
        f = r["frame"]
        print(f"{objects:<8}{f['median']:>14.1f}{f['min']:>10.1f}{f['max']:>10.1f}{f['n']:>6}"
              f"{r['prompt_ms']:>11.1f}{r['init_ms']:>10.1f}")
        lines.append(json.dumps({
            "impl": "reference", "sam2": sam2_version, "torch": torch.__version__,
            "python": platform.python_version(), "device": place.name(),
            "precision": args.precision,
            "threads": torch.get_num_threads(), "config": args.config,
            "checkpoint": args.checkpoint, "seed": args.seed,
            "objects": objects, "frames": args.frames,
            "width": args.width, "height": args.height,
            "frame_ms_median": round(f["median"], 2), "frame_ms_min": round(f["min"], 2),
            "frame_ms_max": round(f["max"], 2), "timed_frames": f["n"],
            "prompt_ms": round(r["prompt_ms"], 2), "init_ms": round(r["init_ms"], 2),
            "build_s": round(build_s, 3),
        }))
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
