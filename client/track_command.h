// `sam2 track`: tracks objects through a video locally. Objects are prompted
// with clicks, boxes or mask images on any frames; the model propagates them
// forward from the earliest prompted frame (and backward with --reverse).
// Writes one binary mask PNG per frame and object, optionally an overlay
// video with every object in its own colour, and shows a progress bar on
// stderr. The full grammar is in kTrackUsage (track_command.cc) and
// README.md.
//
// The prompt grammar, the mask files, the summary and the overlay video are
// shared with `sam2 remote track` (client/remote_command.h), which tracks on
// a server with the same options.
//
// Thread-safety: the functions have no shared state; RunTrack writes only
// the files named on its command line and to the given streams. TrackTally
// is a plain value (not thread-safe).

#ifndef SAM2_CLIENT_TRACK_COMMAND_H_
#define SAM2_CLIENT_TRACK_COMMAND_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/cli_args.h"
#include "model/video_frames.h"

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

// The options of `sam2 track` (for CliArgs::Parse).
const CliSpec& TrackCliSpec();

// --max-frames N of `args` (unset: none): INVALID_ARGUMENT unless an
// integer in [0, kDefaultMaxVideoFrames].
absl::StatusOr<std::optional<int64_t>> ParseTrackMaxFrames(const CliArgs& args);

// The objects of `prompts` in order of first appearance. OUT_OF_RANGE
// ("--frame N is outside the video ...") for a prompt on a frame at or past
// `num_frames`.
absl::StatusOr<std::vector<int64_t>> CheckTrackPrompts(
    const std::vector<TrackPrompt>& prompts, int64_t num_frames);

// Frame rate of the overlay video when the input has none (JPEG folders).
inline constexpr double kDefaultOverlayFps = 10.0;

// "DIR/<frame:05d>_obj<id>.png": where the mask of one object on one frame
// is written.
std::string TrackMaskPath(const std::string& dir, int64_t frame,
                          int64_t obj_id);

// The frames of --video: a folder of JPEG frames (JpegFolderFrameSource) or
// a video file (VideoFileFrameSource).
absl::StatusOr<std::unique_ptr<FrameSource>> OpenVideoFrames(
    const std::string& path);

// The frame rate of the video file `video`, or kDefaultOverlayFps (JPEG
// folders, files without one).
double VideoFps(const std::string& video);

// A --mask image: bool [height, width], nonzero = object. INVALID_ARGUMENT
// when it cannot be read or has another size.
absl::StatusOr<at::Tensor> ReadTrackMask(const std::string& path,
                                         int64_t height, int64_t width);

// Writes the overlay video (MP4 mp4v; an MJPG .avi beside it when OpenCV
// cannot write MP4) for frames [first, last] of `frames`: each frame with
// every object's mask file from `mask_dir` (TrackMaskPath; frames without
// one are left untinted) tinted in the object's colour and the prompts
// drawn on their frames. Reports the file written on `out`.
absl::Status WriteTrackOverlayVideo(FrameSource& frames,
                                    const std::string& mask_dir,
                                    const std::vector<int64_t>& obj_ids,
                                    const std::vector<TrackPrompt>& prompts,
                                    int64_t first, int64_t last, double fps,
                                    const std::string& path, std::ostream& out);

// Per-object statistics of a propagation, as `sam2 track` reports them.
class TrackTally {
 public:
  // One tracked frame: (object id, mask area in pixels) for each object. A
  // frame already added (the start frame, visited again by the backward
  // pass) is not counted twice.
  void AddFrame(int64_t frame,
                const std::vector<std::pair<int64_t, int64_t>>& areas);

  // Distinct frames added, the first and last of them (0 when none), and
  // the mask files counted.
  int64_t num_frames() const { return static_cast<int64_t>(frames_.size()); }
  int64_t first_frame() const { return frames_.empty() ? 0 : *frames_.begin(); }
  int64_t last_frame() const { return frames_.empty() ? 0 : *frames_.rbegin(); }
  int64_t files() const { return files_; }

  // The summary lines: per object (in `obj_ids` order) its prompted frames,
  // the frames with a non-empty mask and the mean area; then the totals.
  std::string Summary(
      const std::vector<int64_t>& obj_ids,
      const std::map<int64_t, std::vector<int64_t>>& prompted_frames,
      int64_t video_frames, const std::string& out_dir) const;

 private:
  std::set<int64_t> frames_;
  std::map<int64_t, int64_t> frames_with_mask_;  // obj id -> frames, area > 0
  std::map<int64_t, double> area_sum_;           // obj id -> summed area
  int64_t files_ = 0;
};

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
