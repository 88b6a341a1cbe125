"""Where and how the reference benchmarks run: --device and --precision.

On the CPU the reference runs as it does by default, in float32. On a GPU
--precision=bfloat16 runs it the way Meta's notebooks do: under
torch.autocast("cuda", dtype=torch.bfloat16), with TF32 matrix products on
compute capability 8 and later; float32 turns both off. Every timed step
ends with sync() so that GPU timings measure the work, not the launch.
"""

import contextlib

PRECISIONS = ("float32", "bfloat16")


def add_arguments(parser):
    parser.add_argument("--device", default="cpu",
                        help="cpu, cuda or cuda:N (default: %(default)s)")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="bfloat16: the reference's CUDA autocast (GPU only; "
                             "default: %(default)s)")


class Placement:
    """The device, a sync() for timings and the autocast context to run in."""

    def __init__(self, torch, device, precision):
        self.torch = torch
        self.device = torch.device(device)
        self.precision = precision
        cuda = self.device.type == "cuda"
        if precision == "bfloat16" and not cuda:
            raise SystemExit("--precision=bfloat16 is the reference's CUDA autocast; "
                             "on the CPU the reference runs in float32")
        if cuda:
            if not torch.cuda.is_available():
                raise SystemExit(f"--device={device}: no CUDA device is visible")
            torch.cuda.set_device(self.device)
            tf32 = (precision == "bfloat16" and
                    torch.cuda.get_device_properties(self.device).major >= 8)
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
        self.cuda = cuda

    def sync(self):
        if self.cuda:
            self.torch.cuda.synchronize(self.device)

    def autocast(self):
        if self.precision == "bfloat16":
            return self.torch.autocast("cuda", dtype=self.torch.bfloat16)
        return contextlib.nullcontext()

    def name(self):
        if not self.cuda:
            return "cpu"
        return f"{self.device} ({self.torch.cuda.get_device_name(self.device)})"
