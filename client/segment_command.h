// `sam2 segment`: segments one image locally with prompts given on the
// command line and writes the mask(s) as PNG, optionally an overlay:
//   sam2 segment --checkpoint CKPT [--config YAML] --image IMG
//       --point x,y[,label] ... [--box x0,y0,x1,y1] [--multimask]
//       --out mask.png [--overlay overlay.png]
// Labels: 1 positive (default), 0 negative. Prints each mask's predicted IoU
// and the time spent embedding and predicting. Writes only the files named
// and to the given streams; returns a process exit code.
//
// The prompt parsing and the output files are shared with
// `sam2 remote segment` (client/remote_command.h), which segments on a
// server with the same options.

#ifndef SAM2_CLIENT_SEGMENT_COMMAND_H_
#define SAM2_CLIENT_SEGMENT_COMMAND_H_

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/cli_args.h"

namespace sam2 {

// A click: image pixels; label 1 positive (the default), 0 negative.
struct SegmentPoint {
  double x = 0;
  double y = 0;
  int label = 1;
};

// The prompts of one `sam2 segment` command line.
struct SegmentPrompts {
  std::vector<SegmentPoint> points;
  std::optional<std::array<double, 4>> box;  // x0, y0, x1, y1
};

// The options of `sam2 segment` (for CliArgs::Parse).
const CliSpec& SegmentCliSpec();

// --point x,y[,label] (repeatable) and at most one --box x0,y0,x1,y1 of
// `args`. INVALID_ARGUMENT for malformed values, two boxes, or no prompt.
absl::StatusOr<SegmentPrompts> ParseSegmentPrompts(const CliArgs& args);

// "out.png", 2 -> "out_2.png" (the candidate masks of --multimask).
std::string IndexedMaskPath(const std::string& path, int index);

// "mask 1: predicted IoU 0.8123, area 5120 px (best)\n".
std::string FormatSegmentMaskLine(int index, double iou, int64_t area,
                                  bool best);

// The image (RGB uint8 [H, W, 3]) with `mask` ([H, W], nonzero inside)
// tinted and the prompts drawn on it, written to `path`.
absl::Status WriteSegmentOverlay(const at::Tensor& rgb, const at::Tensor& mask,
                                 const SegmentPrompts& prompts,
                                 const std::string& path);

int RunSegment(const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err);

}  // namespace sam2

#endif  // SAM2_CLIENT_SEGMENT_COMMAND_H_
