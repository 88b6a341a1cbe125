#!/usr/bin/env python3
"""Benchmarks Meta's SAM 2 reference implementation (Python) on the CPU or a GPU.

The counterpart of the C++ image benchmark (issue 3): builds a full-size model
from an official config with the reference's own random initialisation
(torch.manual_seed(0), no checkpoint), then times

  - SAM2ImagePredictor.set_image on one 1024x1024 RGB uint8 image
    (the image transforms, the image encoder and the feature preparation), and
  - SAM2ImagePredictor.predict for one positive click at (512, 512) with
    multimask_output=True on the cached embedding (prompt encoder, mask
    decoder, upsampling of the masks to 1024x1024 and thresholding),

each after one warm-up run, under torch.inference_mode() (and on a GPU the
autocast of reference_device.py, each step synchronised), and prints a table
and one JSON line ({"impl": "reference", ...}) for a wrapper to compare with
the C++ figures. --save-checkpoint writes the random weights in the official
checkpoint layout ({"model": state_dict}) so the C++ side can load the very
same model.

Needs the reference environment (scripts/install.sh --reference):

  .venv-reference/bin/python tests/benchmarks/reference_image_benchmark.py \\
      --threads 2 --save-checkpoint /tmp/sam2.1_hiera_t_random.pt
"""

import argparse
import json
import platform
import statistics
import sys
import time

import reference_device


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    reference_device.add_arguments(p)
    p.add_argument("--config", default="configs/sam2.1/sam2.1_hiera_t.yaml",
                   help="config name inside the sam2 package (default: %(default)s)")
    p.add_argument("--threads", type=int, default=2,
                   help="torch.set_num_threads (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=5,
                   help="timed set_image runs after 1 warm-up (default: %(default)s)")
    p.add_argument("--predict-repeats", type=int, default=20,
                   help="timed predict runs after 1 warm-up (default: %(default)s)")
    p.add_argument("--image", default=None,
                   help="an image file to use instead of the built-in 1024x1024 "
                        "random RGB image (numpy default_rng(0))")
    p.add_argument("--seed", type=int, default=0,
                   help="torch.manual_seed before building the model (default: %(default)s)")
    p.add_argument("--save-checkpoint", metavar="PATH.pt", default=None,
                   help='write torch.save({"model": model.state_dict()}, PATH.pt)')
    args = p.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.predict_repeats < 1:
        p.error("--threads, --repeats and --predict-repeats must be >= 1")
    return args


def summary(times_s):
    ms = [t * 1000.0 for t in times_s]
    return {"median": statistics.median(ms), "min": min(ms), "max": max(ms), "n": len(ms)}


def main(argv):
    args = parse_args(argv)

    import numpy as np
    import torch

    # Before anything runs an operator, so the intra-op pool has this size.
    torch.set_num_threads(args.threads)
    place = reference_device.Placement(torch, args.device, args.precision)

    try:
        from importlib.metadata import version
        sam2_version = version("sam2")
    except Exception:  # pragma: no cover - metadata missing
        sam2_version = "unknown"
    from sam2.build_sam import build_sam2
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    # build_sam2 with ckpt_path=None keeps the modules' own initialisation
    # (_load_checkpoint does nothing); apply_postprocessing=True (the default)
    # only adds the dynamic-multimask-via-stability decoder options, which act
    # when multimask_output=False, not in this benchmark.
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    model = build_sam2(args.config, ckpt_path=None, device=str(place.device), mode="eval")
    build_s = time.perf_counter() - t0

    state = {k: v.cpu() for k, v in model.state_dict().items()}
    n_tensors = len(state)
    n_params = sum(t.numel() for t in state.values())
    if args.save_checkpoint:
        torch.save({"model": state}, args.save_checkpoint)

    if args.image:
        from PIL import Image
        image = np.array(Image.open(args.image).convert("RGB"))
        image_name = args.image
    else:
        image = np.random.default_rng(0).integers(0, 256, size=(1024, 1024, 3), dtype=np.uint8)
        image_name = "random-1024x1024-rng0"
    h, w = image.shape[:2]

    predictor = SAM2ImagePredictor(model)
    point_coords = np.array([[512.0, 512.0]], dtype=np.float32)
    point_labels = np.array([1], dtype=np.int32)

    set_times, predict_times = [], []
    with torch.inference_mode(), place.autocast():
        for i in range(1 + args.repeats):
            t0 = time.perf_counter()
            predictor.set_image(image)
            place.sync()
            dt = time.perf_counter() - t0
            if i > 0:
                set_times.append(dt)
        for i in range(1 + args.predict_repeats):
            t0 = time.perf_counter()
            masks, scores, low_res = predictor.predict(
                point_coords=point_coords, point_labels=point_labels, multimask_output=True)
            place.sync()
            dt = time.perf_counter() - t0
            if i > 0:
                predict_times.append(dt)

    s, p = summary(set_times), summary(predict_times)
    result = {
        "impl": "reference",
        "sam2": sam2_version,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": place.name(),
        "precision": args.precision,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "config": args.config,
        "seed": args.seed,
        "tensors": n_tensors,
        "parameters": n_params,
        "checkpoint": args.save_checkpoint,
        "image": image_name,
        "image_hw": [h, w],
        "build_s": round(build_s, 3),
        "set_image_ms_median": round(s["median"], 2),
        "set_image_ms_min": round(s["min"], 2),
        "set_image_ms_max": round(s["max"], 2),
        "set_image_repeats": s["n"],
        "predict_ms_median": round(p["median"], 3),
        "predict_ms_min": round(p["min"], 3),
        "predict_ms_max": round(p["max"], 3),
        "predict_repeats": p["n"],
        "predict_point": [512, 512],
        "masks_shape": list(masks.shape),
        "scores": [round(float(x), 6) for x in scores],
        "mask_pixels": [int(m.sum()) for m in masks],
    }

    print(f"SAM 2 reference (sam2 {sam2_version}, torch {torch.__version__}), "
          f"{args.config}, random weights seed {args.seed}: "
          f"{n_tensors} tensors, {n_params:,} parameters")
    print(f"cpu, {result['threads']} threads, image {image_name} {w}x{h}")
    print(f"{'what':<28}{'median ms':>12}{'min ms':>12}{'max ms':>12}{'runs':>6}")
    print(f"{'set_image':<28}{s['median']:>12.1f}{s['min']:>12.1f}{s['max']:>12.1f}{s['n']:>6}")
    print(f"{'predict (1 click, 3 masks)':<28}{p['median']:>12.2f}{p['min']:>12.2f}"
          f"{p['max']:>12.2f}{p['n']:>6}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
