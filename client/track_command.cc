#include "client/track_command.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/cli_args.h"
#include "client/precision_option.h"
#include "client/mask_images.h"
#include "client/progress_bar.h"
#include "model/model_loader.h"
#include "model/video_file_frame_source.h"
#include "model/video_frames.h"
#include "model/video_predictor.h"

namespace sam2 {
namespace {

constexpr char kUsage[] =
    "usage: sam2 track --checkpoint CKPT [--config YAML] --video FILE|DIR\n"
    "         [--obj-id K] [--frame N] --point x,y[,label] ... "
    "[--box x0,y0,x1,y1] [--mask PNG]\n"
    "         [--obj-id K2 ...] --out DIR [--overlay-video out.mp4]\n"
    "         [--reverse] [--max-frames N] [--progress]\n"
    "         [--precision auto|float32|bfloat16]\n"
    "Prompts are read left to right. --obj-id K starts object K (an integer\n"
    ">= 0; before any --obj-id, prompts belong to object 1). --frame N (0-based,\n"
    "default 0, reset by each --obj-id) selects the frame the --point, --box\n"
    "and --mask options after it apply to. Points are x,y[,label] in video\n"
    "pixels (label 1 positive, the default; 0 negative); a box is x0,y0,x1,y1\n"
    "(at most one per object and frame); --mask is a mask image of the video's\n"
    "size (nonzero = object), used instead of clicks on that frame.\n"
    "Example: --obj-id 1 --point 160,90 --obj-id 2 --frame 3 --box 10,10,60,50\n"
    "Tracks forward from the earliest prompted frame (--reverse: backward\n"
    "too; --max-frames N: at most N frames past it in each direction) and\n"
    "writes DIR/<frame:05d>_obj<id>.png masks (255 = object), an overlay video\n"
    "(MP4, mp4v; an MJPG .avi when MP4 cannot be written) and a progress bar\n"
    "on stderr when it is a terminal (or with --progress).\n";

// Upper bound of an object id on the command line (DESIGN.md caps objects
// per session at 16; ids themselves are free, but must stay printable).
constexpr int64_t kMaxObjectId = 1'000'000;

absl::StatusOr<std::vector<float>> ParseFloats(const std::string& text,
                                               size_t min_count,
                                               size_t max_count,
                                               const std::string& what) {
  absl::StatusOr<std::vector<double>> v =
      ParseNumberList(text, min_count, max_count, what);
  if (!v.ok()) return v.status();
  return std::vector<float>(v->begin(), v->end());
}

absl::StatusOr<int64_t> ParseCount(const std::string& text,
                                   const std::string& what, int64_t max) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < 0 || v > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", text, "': expected an integer in [0, ", max, "]"));
  }
  return v;
}

// The command line as (option, value) pairs in order, for the options that
// take a value (CliArgs::Parse has already checked the syntax).
std::vector<std::pair<std::string, std::string>> OrderedOptions(
    const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (!absl::StartsWith(arg, "--")) continue;
    auto [name, inline_value] = SplitOptionArg(arg);
    const bool has_value = inline_value.has_value();
    std::string value = inline_value.value_or("");
    if (!TrackCliSpec().value_options.count(name)) continue;
    if (!has_value) {
      if (i + 1 >= args.size()) break;
      value = args[++i];
    }
    out.emplace_back(name, value);
  }
  return out;
}

absl::Status Track(const CliArgs& args, const std::vector<std::string>& argv,
                   std::ostream& out, std::ostream& err, bool show_progress) {
  const std::string checkpoint = args.Get("checkpoint");
  const std::string video = args.Get("video");
  const std::string out_dir = args.Get("out");
  if (checkpoint.empty() || video.empty() || out_dir.empty()) {
    return absl::InvalidArgumentError(
        "--checkpoint, --video and --out are required");
  }
  absl::StatusOr<std::vector<TrackPrompt>> prompts = ParseTrackPrompts(argv);
  if (!prompts.ok()) return prompts.status();
  absl::StatusOr<std::optional<int64_t>> max_frames_arg =
      ParseTrackMaxFrames(args);
  if (!max_frames_arg.ok()) return max_frames_arg.status();
  const std::optional<int64_t> max_frames = *max_frames_arg;

  absl::StatusOr<std::unique_ptr<FrameSource>> source = OpenVideoFrames(video);
  if (!source.ok()) return source.status();
  const int64_t num_frames = (*source)->num_frames();
  const int64_t height = (*source)->video_height();
  const int64_t width = (*source)->video_width();
  absl::StatusOr<std::vector<int64_t>> ids =
      CheckTrackPrompts(*prompts, num_frames);
  if (!ids.ok()) return ids.status();
  const std::vector<int64_t>& obj_ids = *ids;
  int64_t start = num_frames;
  for (const TrackPrompt& p : *prompts) start = std::min(start, p.frame);

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec || !std::filesystem::is_directory(out_dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--out ", out_dir, ": cannot create the directory"));
  }

  absl::StatusOr<Precision> precision = UsePrecisionOption(args);
  if (!precision.ok()) return precision.status();
  absl::StatusOr<LoadedModel> loaded = LoadModel(checkpoint, args.Get("config"));
  if (!loaded.ok()) return loaded.status();
  absl::StatusOr<std::shared_ptr<const VideoPredictor>> predictor =
      VideoPredictor::Create(loaded->config, loaded->weights);
  if (!predictor.ok()) return predictor.status();
  // The state owns the source; the overlay pass reads frames through it
  // afterwards (FrameSource is thread-safe and outlives that use).
  FrameSource* frames = source->get();
  absl::StatusOr<std::unique_ptr<VideoInferenceState>> state =
      (*predictor)->InitState(*std::move(source));
  if (!state.ok()) return state.status();

  const absl::Time t_prompt = absl::Now();
  for (const TrackPrompt& p : *prompts) {
    absl::StatusOr<VideoFrameMasks> m;
    if (!p.mask_path.empty()) {
      absl::StatusOr<at::Tensor> mask =
          ReadTrackMask(p.mask_path, height, width);
      if (!mask.ok()) return mask.status();
      m = (*predictor)->AddNewMask(**state, p.frame, p.obj_id, *mask);
    } else {
      const int64_t n = static_cast<int64_t>(p.labels.size());
      at::Tensor points, labels, box;
      if (n > 0) {
        points = at::tensor(p.point_xy).view({n, 2});
        labels = at::tensor(p.labels, at::kInt);
      }
      if (p.box) box = at::tensor(*p.box);
      m = (*predictor)->AddNewPointsOrBox(**state, p.frame, p.obj_id, points,
                                          labels, box);
    }
    if (!m.ok()) {
      return absl::Status(m.status().code(),
                          absl::StrFormat("object %d, frame %d: %s", p.obj_id,
                                          p.frame, m.status().message()));
    }
  }
  const absl::Time t_propagate = absl::Now();

  // Frames each pass visits: the start frame is visited by both, except
  // that (as in the reference) there is no backward pass from frame 0.
  const int64_t span_forward = std::min(
      num_frames - 1 - start, max_frames.value_or(num_frames));
  const int64_t span_backward =
      std::min(start, max_frames.value_or(num_frames));
  const bool reverse = args.Switch("reverse");
  const int64_t total =
      span_forward + 1 + (reverse && start > 0 ? span_backward + 1 : 0);

  TrackTally tally;
  int64_t done = 0;
  ProgressBar progress(err, show_progress, FormatTrackProgress);
  auto on_frame = [&](const VideoFrameMasks& f) -> absl::Status {
    std::vector<std::pair<int64_t, int64_t>> areas;
    try {
      for (size_t i = 0; i < f.obj_ids.size(); ++i) {
        const at::Tensor mask = f.masks[static_cast<int64_t>(i)][0].gt(0);
        if (absl::Status s = WriteMaskPng(
                mask, TrackMaskPath(out_dir, f.frame_idx, f.obj_ids[i]));
            !s.ok()) {
          return s;
        }
        areas.emplace_back(f.obj_ids[i], mask.sum().item<int64_t>());
      }
    } catch (const c10::Error& e) {
      return absl::InternalError(e.what_without_backtrace());
    }
    tally.AddFrame(f.frame_idx, areas);
    progress.Update(++done, total);
    return absl::OkStatus();
  };
  PropagateOptions forward;
  forward.max_frames = max_frames;
  absl::Status s = (*predictor)->PropagateInVideo(**state, forward, on_frame);
  if (s.ok() && reverse) {
    PropagateOptions backward = forward;
    backward.reverse = true;
    s = (*predictor)->PropagateInVideo(**state, backward, on_frame);
  }
  progress.Finish();
  if (!s.ok()) return s;
  if (tally.num_frames() == 0) {
    return absl::InternalError("no frame was tracked");
  }
  const absl::Time t_done = absl::Now();

  std::map<int64_t, std::vector<int64_t>> prompted;
  for (int64_t id : obj_ids) prompted[id] = (*state)->PromptedFrames(id);
  out << tally.Summary(obj_ids, prompted, num_frames, out_dir);
  const double seconds = absl::ToDoubleSeconds(t_done - t_propagate);
  if (args.Has("overlay-video")) {
    absl::Status w = WriteTrackOverlayVideo(
        *frames, out_dir, obj_ids, *prompts, tally.first_frame(),
        tally.last_frame(), VideoFps(video), args.Get("overlay-video"), out);
    if (!w.ok()) return w;
  }
  out << absl::StrFormat(
      "prompts %.1f ms, propagation %.2f s (%.2f frames/s)\n",
      absl::ToDoubleMilliseconds(t_propagate - t_prompt), seconds,
      seconds > 0 ? static_cast<double>(done) / seconds : 0.0);
  return absl::OkStatus();
}

}  // namespace

const CliSpec& TrackCliSpec() {
  static const CliSpec* spec = new CliSpec{
      {"checkpoint", "config", "video", "frame", "point", "box", "mask",
       "obj-id", "out", "overlay-video", "max-frames", kPrecisionOption},
      {"reverse", "progress"},
      /*max_positional=*/0};
  return *spec;
}

std::string TrackMaskPath(const std::string& dir, int64_t frame,
                          int64_t obj_id) {
  return absl::StrFormat("%s/%05d_obj%d.png", dir, frame, obj_id);
}

absl::StatusOr<std::unique_ptr<FrameSource>> OpenVideoFrames(
    const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    absl::StatusOr<std::unique_ptr<JpegFolderFrameSource>> s =
        JpegFolderFrameSource::Open(path);
    if (!s.ok()) return s.status();
    return std::unique_ptr<FrameSource>(*std::move(s));
  }
  absl::StatusOr<std::unique_ptr<VideoFileFrameSource>> s =
      VideoFileFrameSource::Open(path);
  if (!s.ok()) return s.status();
  return std::unique_ptr<FrameSource>(*std::move(s));
}

double VideoFps(const std::string& video) {
  std::error_code ec;
  if (std::filesystem::is_directory(video, ec)) return kDefaultOverlayFps;
  try {
    cv::VideoCapture capture(video, cv::CAP_FFMPEG);
    const double fps = capture.isOpened() ? capture.get(cv::CAP_PROP_FPS) : 0;
    return fps > 0 && std::isfinite(fps) ? fps : kDefaultOverlayFps;
  } catch (const cv::Exception&) {
    return kDefaultOverlayFps;
  }
}

absl::StatusOr<at::Tensor> ReadTrackMask(const std::string& path,
                                         int64_t height, int64_t width) {
  cv::Mat m;
  try {
    m = cv::imread(path, cv::IMREAD_GRAYSCALE);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("--mask ", path, ": ", e.what()));
  }
  if (m.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--mask ", path, ": cannot read the image"));
  }
  if (m.rows != height || m.cols != width) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--mask %s is %dx%d; the video is %dx%d", path, m.cols, m.rows, width,
        height));
  }
  at::Tensor t = at::from_blob(m.data, {m.rows, m.cols}, at::kByte).clone();
  return t.ne(0);
}

absl::Status WriteTrackOverlayVideo(FrameSource& frames,
                                    const std::string& mask_dir,
                                    const std::vector<int64_t>& obj_ids,
                                    const std::vector<TrackPrompt>& prompts,
                                    int64_t first, int64_t last, double fps,
                                    const std::string& path,
                                    std::ostream& out) {
  const cv::Size size(static_cast<int>(frames.video_width()),
                      static_cast<int>(frames.video_height()));
  std::string written = path;
  cv::VideoWriter writer;
  try {
    writer.open(path, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), fps, size);
    if (!writer.isOpened()) {
      const size_t dot = path.rfind('.');
      const size_t slash = path.rfind('/');
      written = (dot == std::string::npos ||
                 (slash != std::string::npos && dot < slash))
                    ? path + ".avi"
                    : path.substr(0, dot) + ".avi";
      writer.open(written, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps,
                  size);
      if (!writer.isOpened()) {
        return absl::InternalError(absl::StrCat(
            "OpenCV cannot write a video here (neither MP4 to ", path,
            " nor MJPG AVI to ", written, ")"));
      }
      out << "note: OpenCV cannot write MP4 (mp4v) here; writing MJPG AVI "
          << written << " instead\n";
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", e.what()));
  }
  std::map<std::pair<int64_t, int64_t>, std::vector<DrawnPrompt>> drawn;
  for (const TrackPrompt& p : prompts) {
    std::vector<DrawnPrompt>& d = drawn[{p.frame, p.obj_id}];
    for (size_t i = 0; i < p.labels.size(); ++i) {
      DrawnPrompt point;
      point.x = p.point_xy[2 * i];
      point.y = p.point_xy[2 * i + 1];
      point.label = p.labels[i];
      d.push_back(point);
    }
    if (p.box) {
      DrawnPrompt box;
      box.is_box = true;
      box.x = (*p.box)[0];
      box.y = (*p.box)[1];
      box.x1 = (*p.box)[2];
      box.y1 = (*p.box)[3];
      d.push_back(box);
    }
  }
  for (int64_t f = first; f <= last; ++f) {
    absl::StatusOr<at::Tensor> rgb = frames.GetFrame(f);
    if (!rgb.ok()) return rgb.status();
    absl::StatusOr<cv::Mat> bgr = RgbTensorToBgr(*rgb);
    if (!bgr.ok()) return bgr.status();
    for (size_t i = 0; i < obj_ids.size(); ++i) {
      const std::string mask_path = TrackMaskPath(mask_dir, f, obj_ids[i]);
      absl::StatusOr<at::Tensor> mask =
          ReadTrackMask(mask_path, frames.video_height(), frames.video_width());
      if (!mask.ok()) continue;  // frame not tracked for this object
      absl::Status s = TintMask(*bgr, *mask, ObjectColor(static_cast<int>(i)));
      if (!s.ok()) return s;
    }
    for (int64_t id : obj_ids) {
      auto it = drawn.find({f, id});
      if (it != drawn.end()) DrawPrompts(*bgr, it->second);
    }
    try {
      writer.write(*bgr);
    } catch (const cv::Exception& e) {
      return absl::InternalError(
          absl::StrCat("cannot write ", written, ": ", e.what()));
    }
  }
  writer.release();
  out << absl::StrFormat("wrote %s (%d frames, %.3g fps)\n", written,
                         last - first + 1, fps);
  return absl::OkStatus();
}

void TrackTally::AddFrame(
    int64_t frame, const std::vector<std::pair<int64_t, int64_t>>& areas) {
  if (!frames_.insert(frame).second) return;  // visited by an earlier pass
  for (const auto& [obj_id, area] : areas) {
    ++files_;
    area_sum_[obj_id] += static_cast<double>(area);
    if (area > 0) ++frames_with_mask_[obj_id];
  }
}

std::string TrackTally::Summary(
    const std::vector<int64_t>& obj_ids,
    const std::map<int64_t, std::vector<int64_t>>& prompted_frames,
    int64_t video_frames, const std::string& out_dir) const {
  const int64_t n = num_frames();
  std::string text;
  for (int64_t id : obj_ids) {
    auto it = prompted_frames.find(id);
    const std::vector<int64_t> prompted =
        it == prompted_frames.end() ? std::vector<int64_t>() : it->second;
    auto with_mask = frames_with_mask_.find(id);
    auto area = area_sum_.find(id);
    absl::StrAppendFormat(
        &text,
        "object %d: prompted on frame%s %s; mask on %d of %d frames, mean "
        "area %.0f px\n",
        id, prompted.size() == 1 ? "" : "s", absl::StrJoin(prompted, ","),
        with_mask == frames_with_mask_.end() ? 0 : with_mask->second, n,
        n > 0 && area != area_sum_.end() ? area->second / n : 0.0);
  }
  absl::StrAppendFormat(
      &text,
      "tracked %d object%s over %d frames (%d..%d) of %d; wrote %d masks to "
      "%s\n",
      obj_ids.size(), obj_ids.size() == 1 ? "" : "s", n, first_frame(),
      last_frame(), video_frames, files_, out_dir);
  return text;
}

absl::StatusOr<std::optional<int64_t>> ParseTrackMaxFrames(
    const CliArgs& args) {
  if (!args.Has("max-frames")) return std::nullopt;
  absl::StatusOr<int64_t> n = ParseCount(args.Get("max-frames"),
                                         "--max-frames", kDefaultMaxVideoFrames);
  if (!n.ok()) return n.status();
  return std::optional<int64_t>(*n);
}

absl::StatusOr<std::vector<int64_t>> CheckTrackPrompts(
    const std::vector<TrackPrompt>& prompts, int64_t num_frames) {
  std::vector<int64_t> obj_ids;
  for (const TrackPrompt& p : prompts) {
    if (p.frame >= num_frames) {
      return absl::OutOfRangeError(absl::StrFormat(
          "--frame %d is outside the video (%d frames: 0..%d)", p.frame,
          num_frames, num_frames - 1));
    }
    if (std::find(obj_ids.begin(), obj_ids.end(), p.obj_id) == obj_ids.end()) {
      obj_ids.push_back(p.obj_id);
    }
  }
  return obj_ids;
}

absl::StatusOr<std::vector<TrackPrompt>> ParseTrackPrompts(
    const std::vector<std::string>& args) {
  std::vector<TrackPrompt> groups;
  std::map<std::pair<int64_t, int64_t>, size_t> index;  // (obj, frame) -> group
  int64_t obj_id = kDefaultTrackObjectId;
  int64_t frame = 0;
  // The last --obj-id / --frame option that has had no prompt after it yet.
  std::string dangling;
  auto group = [&]() -> TrackPrompt& {
    auto [it, inserted] = index.emplace(std::make_pair(obj_id, frame), groups.size());
    if (inserted) {
      groups.emplace_back();
      groups.back().obj_id = obj_id;
      groups.back().frame = frame;
    }
    return groups[it->second];
  };
  for (const auto& [name, value] : OrderedOptions(args)) {
    if (name == "obj-id") {
      absl::StatusOr<int64_t> v = ParseCount(value, "--obj-id", kMaxObjectId);
      if (!v.ok()) return v.status();
      if (!dangling.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            dangling, " has no --point, --box or --mask after it"));
      }
      obj_id = *v;
      frame = 0;
      dangling = absl::StrCat("--obj-id ", value);
    } else if (name == "frame") {
      absl::StatusOr<int64_t> v =
          ParseCount(value, "--frame", kDefaultMaxVideoFrames - 1);
      if (!v.ok()) return v.status();
      frame = *v;
      dangling = absl::StrCat("--frame ", value);
    } else if (name == "point" || name == "box" || name == "mask") {
      TrackPrompt& g = group();
      const std::string where = absl::StrFormat("object %d, frame %d: ", obj_id, frame);
      if (name == "point") {
        absl::StatusOr<std::vector<float>> v = ParseFloats(value, 2, 3, "--point");
        if (!v.ok()) return v.status();
        const float label = v->size() == 3 ? (*v)[2] : 1.0f;
        if (label != 0.0f && label != 1.0f) {
          return absl::InvalidArgumentError(absl::StrCat(
              "--point '", value, "': the label must be 1 (positive) or 0 "
              "(negative)"));
        }
        g.point_xy.push_back((*v)[0]);
        g.point_xy.push_back((*v)[1]);
        g.labels.push_back(static_cast<int>(label));
      } else if (name == "box") {
        absl::StatusOr<std::vector<float>> v = ParseFloats(value, 4, 4, "--box");
        if (!v.ok()) return v.status();
        if (g.box) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, "give at most one --box"));
        }
        g.box = *v;
      } else {
        if (!g.mask_path.empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, "give at most one --mask"));
        }
        g.mask_path = value;
      }
      if (!g.mask_path.empty() && (g.box || !g.labels.empty())) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, "a --mask replaces clicks and boxes; give one or the other"));
      }
      dangling.clear();
    }
  }
  if (!dangling.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dangling, " has no --point, --box or --mask after it"));
  }
  if (groups.empty()) {
    return absl::InvalidArgumentError(
        "give at least one prompt (--point, --box or --mask)");
  }
  return groups;
}

std::string FormatTrackProgress(int64_t done, int64_t total, double elapsed_s) {
  const double fraction =
      total > 0 ? std::clamp(static_cast<double>(done) / total, 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(fraction * kProgressBarWidth);
  const double fps = elapsed_s > 0 ? done / elapsed_s : 0.0;
  std::string eta = "--:--";
  if (fps > 0) {
    const int64_t left =
        static_cast<int64_t>(std::ceil(std::max<int64_t>(total - done, 0) / fps));
    eta = absl::StrFormat("%d:%02d", left / 60, left % 60);
  }
  return absl::StrFormat("[%s%s] %d/%d frames  %.2f frames/s  ETA %s",
                         std::string(filled, '#'),
                         std::string(kProgressBarWidth - filled, '.'), done,
                         total, fps, eta);
}

int RunTrack(const std::vector<std::string>& argv, std::ostream& out,
             std::ostream& err, bool err_is_tty) {
  if (argv.size() == 1 && (argv[0] == "--help" || argv[0] == "-h")) {
    out << kUsage;
    return 0;
  }
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, TrackCliSpec());
  if (!args.ok()) {
    err << "sam2 track: " << args.status().message() << "\n" << kUsage;
    return 2;
  }
  absl::Status s;
  try {
    s = Track(*args, argv, out, err, err_is_tty || args->Switch("progress"));
  } catch (const c10::Error& e) {
    s = absl::InternalError(e.what_without_backtrace());
  } catch (const cv::Exception& e) {
    s = absl::InternalError(e.what());
  }
  if (!s.ok()) {
    err << "sam2 track: " << s.message() << "\n";
    const bool usage_error = s.code() == absl::StatusCode::kInvalidArgument ||
                             s.code() == absl::StatusCode::kOutOfRange;
    return usage_error ? 2 : 1;
  }
  return 0;
}

}  // namespace sam2
