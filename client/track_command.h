// `sam2 track`: tracks objects through a video locally. Objects are prompted
// with clicks, boxes or mask images on any frames; the model propagates them
// forward from the earliest prompted frame (and backward with --reverse).
// Writes one binary mask PNG per frame and object, optionally an overlay
// video with every object in its own colour, and shows a progress bar on
// stderr. The full grammar is in kTrackUsage (track_command.cc) and
// README.md.
//
// Thread-safety: the functions have no shared state; RunTrack writes only
// the files named on its command line and to the given streams.

#ifndef SAM2_CLIENT_TRACK_COMMAND_H_
#define SAM2_CLIENT_TRACK_COMMAND_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sam2 {

// The object id prompts belong to before any --obj-id.
inline constexpr int64_t kDefaultTrackObjectId = 1;

// The prompts of one object on one frame, from the command line.
struct TrackPrompt {
  int64_t obj_id = kDefaultTrackObjectId;
  int64_t frame = 0;
  std::vector<float> point_xy;  // x0, y0, x1, y1, ... in video pixels
  std::vector<int> labels;      // one per point: 1 positive, 0 negative
  std::optional<std::vector<float>> box;  // x0, y0, x1, y1
  std::string mask_path;                  // a mask image instead of clicks
};

// Groups the prompt options of `args` (the command line after `track`) by
// object and frame, reading left to right: --obj-id K starts object K,
// --frame N selects the frame for the --point/--box/--mask options after it.
// Other options are skipped (CliArgs checks them). Groups are ordered by
// first appearance. INVALID_ARGUMENT for malformed values, two boxes or two
// masks for one object and frame, a mask mixed with clicks, a --frame or
// --obj-id with no prompt after it, or no prompt at all.
absl::StatusOr<std::vector<TrackPrompt>> ParseTrackPrompts(
    const std::vector<std::string>& args);

// One progress line (no carriage return): a bar, frames done / total,
// frames per second and the estimated time left, e.g.
// "[#######.............] 3/8 frames  1.5 frames/s  ETA 0:03".
std::string FormatTrackProgress(int64_t done, int64_t total, double elapsed_s);

// Runs the command; returns the process exit code: 0 done, 2 bad arguments
// (unknown option, no prompts, frame out of range...), 1 any other failure.
// The progress bar goes to `err` when `err_is_tty` or with --progress.
int RunTrack(const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err, bool err_is_tty = false);

}  // namespace sam2

#endif  // SAM2_CLIENT_TRACK_COMMAND_H_
