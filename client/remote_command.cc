// `sam2 remote`: the local subcommands' options and outputs, computed on a
// server. See the header.

#include "client/remote_command.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/cli_args.h"
#include "client/credentials_options.h"
#include "client/mask_images.h"
#include "client/masks_command.h"
#include "client/progress_bar.h"
#include "client/sam2_client.h"
#include "client/segment_command.h"
#include "client/track_command.h"
#include "model/automatic_mask_generator.h"
#include "model/image_io.h"
#include "model/rle.h"
#include "model/video_frames.h"
#include "server/status_util.h"

namespace sam2 {
namespace {

constexpr char kUsage[] =
    "usage: sam2 remote SUBCOMMAND --server HOST:PORT [--timeout SECONDS]\n"
    "         [--retries N] [--tls | --ca-cert PEM] [--client-cert PEM\n"
    "         --client-key PEM] [--token-file FILE] [the local subcommand's "
    "options]\n"
    "  segment --image IMG --point x,y[,label] ... [--box x0,y0,x1,y1]\n"
    "          [--multimask] --out mask.png [--overlay overlay.png]\n"
    "  masks   --image IMG --out masks.json [--overlay overlay.png]\n"
    "          [--points-per-side 32] ... (sam2 masks --help)\n"
    "  track   --video FILE|DIR [--obj-id K] [--frame N] --point x,y[,label] "
    "...\n"
    "          [--box ...] [--mask PNG] --out DIR [--overlay-video out.mp4]\n"
    "          [--reverse] [--max-frames N] [--progress] (sam2 track --help)\n"
    "  info    what the server runs\n"
    "Same options and outputs as the local `sam2 segment|masks|track`, "
    "without\n--checkpoint and --config: the server's model does the work.\n";

// Connection options every remote subcommand takes.
constexpr int kMaxRetriesOption = 100;

CliSpec RemoteSpec(const CliSpec& local) {
  CliSpec spec = local;
  spec.value_options.erase("checkpoint");
  spec.value_options.erase("config");
  spec.value_options.insert({"server", "timeout", "retries"});
  AddCredentialsOptions(OptionStyle::kDashes, &spec);
  return spec;
}

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(what, " ", path, ": cannot read it"));
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The client for --server with the connection options; a warning on `err`
// when a token would travel in clear.
absl::StatusOr<std::unique_ptr<Sam2Client>> ConnectTo(const CliArgs& args,
                                                      std::ostream& err) {
  ClientOptions options;
  options.address = args.Get("server");
  if (args.Has("timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(args.Get("timeout"), &seconds) || !(seconds > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--timeout '", args.Get("timeout"),
                       "': expected a positive number of seconds"));
    }
    options.timeout = absl::Seconds(seconds);
  }
  if (args.Has("retries")) {
    int retries = 0;
    if (!absl::SimpleAtoi(args.Get("retries"), &retries) || retries < 0 ||
        retries > kMaxRetriesOption) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--retries '", args.Get("retries"), "': expected an integer in [0, ",
          kMaxRetriesOption, "]"));
    }
    options.max_retries = retries;
  }
  absl::StatusOr<ClientCredentials> credentials = LoadClientCredentials(
      GetCredentialsOptions(args, OptionStyle::kDashes), OptionStyle::kDashes,
      std::getenv(kTokenEnvironmentVariable));
  if (!credentials.ok()) return credentials.status();
  const std::string warning =
      CleartextTokenWarning(*credentials, options.address);
  if (!warning.empty()) err << "sam2 remote: " << warning << "\n";
  options.credentials = credentials->channel;
  options.bearer_token = credentials->bearer_token;
  return Sam2Client::Connect(std::move(options));
}

// A decoded CV_8UC1 mask as a uint8 [H, W] tensor viewing its pixels (the
// mat must outlive it).
at::Tensor MaskTensor(const cv::Mat& mask) {
  return at::from_blob(mask.data, {mask.rows, mask.cols}, at::kByte);
}

absl::StatusOr<cv::Mat> DecodeBinaryMask(const v1::Mask& mask) {
  absl::StatusOr<cv::Mat> m = DecodeMask(mask);
  if (!m.ok()) return m.status();
  if (m->type() != CV_8UC1 || !m->isContinuous()) {
    return absl::InternalError(
        "the server sent a mask in an unexpected format");
  }
  return m;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// ---------------------------------------------------------------------------
// segment

absl::Status RemoteSegment(const CliArgs& args, std::ostream& out,
                           std::ostream& err) {
  const std::string image_path = args.Get("image");
  const std::string out_path = args.Get("out");
  if (args.Get("server").empty() || image_path.empty() || out_path.empty()) {
    return absl::InvalidArgumentError(
        "--server, --image and --out are required");
  }
  absl::StatusOr<SegmentPrompts> prompts = ParseSegmentPrompts(args);
  if (!prompts.ok()) return prompts.status();
  absl::StatusOr<std::unique_ptr<Sam2Client>> client = ConnectTo(args, err);
  if (!client.ok()) return client.status();
  absl::StatusOr<std::string> image = ReadFile(image_path, "--image");
  if (!image.ok()) return image.status();

  const absl::Time t0 = absl::Now();
  absl::StatusOr<v1::ImageSession> session =
      (*client)->CreateImageSession(*image);
  if (!session.ok()) return session.status();
  ScopedSession scoped(client->get(), session->name());
  const absl::Time t1 = absl::Now();

  SegmentPrompt prompt;
  for (const SegmentPoint& p : prompts->points) {
    prompt.points.push_back(
        MakePoint(static_cast<float>(p.x), static_cast<float>(p.y), p.label));
  }
  if (prompts->box) {
    const std::array<double, 4>& b = *prompts->box;
    prompt.boxes.push_back(
        MakeBox(static_cast<float>(b[0]), static_cast<float>(b[1]),
                static_cast<float>(b[2]), static_cast<float>(b[3])));
  }
  prompt.multimask_output = args.Switch("multimask");
  absl::StatusOr<v1::SegmentResponse> response =
      (*client)->Segment(scoped.name(), prompt);
  if (!response.ok()) return response.status();
  const absl::Time t2 = absl::Now();
  if (response->prompts_size() != 1 || response->prompts(0).masks_size() == 0 ||
      response->prompts(0).masks_size() !=
          response->prompts(0).iou_scores_size()) {
    return absl::InternalError("the server's answer has no masks");
  }
  const v1::PromptResult& result = response->prompts(0);

  std::vector<cv::Mat> masks;
  int best = 0;
  for (int i = 0; i < result.masks_size(); ++i) {
    absl::StatusOr<cv::Mat> m = DecodeBinaryMask(result.masks(i));
    if (!m.ok()) return m.status();
    masks.push_back(*std::move(m));
    if (result.iou_scores(i) > result.iou_scores(best)) best = i;
  }
  for (int i = 0; i < result.masks_size(); ++i) {
    out << FormatSegmentMaskLine(i, result.iou_scores(i),
                                 cv::countNonZero(masks[i]), i == best);
  }
  if (absl::Status s = WriteImage(masks[best], out_path); !s.ok()) return s;
  out << "wrote " << out_path << "\n";
  if (args.Switch("multimask")) {
    for (int i = 0; i < result.masks_size(); ++i) {
      const std::string path = IndexedMaskPath(out_path, i);
      if (absl::Status s = WriteImage(masks[i], path); !s.ok()) return s;
      out << "wrote " << path << "\n";
    }
  }
  if (args.Has("overlay")) {
    const std::string overlay = args.Get("overlay");
    absl::StatusOr<RgbImage> rgb = DecodeImage(*image);
    if (!rgb.ok()) return rgb.status();
    if (absl::Status s = WriteSegmentOverlay(
            rgb->pixels, MaskTensor(masks[best]), *prompts, overlay);
        !s.ok()) {
      return s;
    }
    out << "wrote " << overlay << "\n";
  }
  out << absl::StrFormat(
      "session %s: image upload + embedding %.1f ms, prediction %.1f ms (%s)\n",
      scoped.name(), Ms(t1 - t0), Ms(t2 - t1), args.Get("server"));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// masks

// The request for the options given on the command line (validated by
// ParseMasksOptions); the others are left to the server's defaults, the
// reference's.
absl::StatusOr<v1::GenerateMasksRequest> MasksRequest(const CliArgs& args) {
  absl::StatusOr<AutomaticMaskGeneratorOptions> o = ParseMasksOptions(args);
  if (!o.ok()) return o.status();
  v1::GenerateMasksRequest r;
  if (args.Has("points-per-side")) {
    r.set_points_per_side(static_cast<int32_t>(*o->points_per_side));
  }
  if (args.Has("points-per-batch")) {
    r.set_points_per_batch(static_cast<int32_t>(o->points_per_batch));
  }
  if (args.Has("pred-iou-thresh")) {
    r.set_pred_iou_thresh(static_cast<float>(o->pred_iou_thresh));
  }
  if (args.Has("stability-score-thresh")) {
    r.set_stability_score_thresh(static_cast<float>(o->stability_score_thresh));
  }
  if (args.Has("stability-score-offset")) {
    r.set_stability_score_offset(static_cast<float>(o->stability_score_offset));
  }
  if (args.Has("box-nms-thresh")) {
    r.set_box_nms_thresh(static_cast<float>(o->box_nms_thresh));
  }
  if (args.Has("crop-n-layers")) {
    r.set_crop_n_layers(static_cast<int32_t>(o->crop_n_layers));
  }
  if (args.Has("crop-nms-thresh")) {
    r.set_crop_nms_thresh(static_cast<float>(o->crop_nms_thresh));
  }
  if (args.Has("crop-overlap-ratio")) {
    r.set_crop_overlap_ratio(static_cast<float>(o->crop_overlap_ratio));
  }
  if (args.Has("crop-n-points-downscale-factor")) {
    r.set_crop_n_points_downscale_factor(
        static_cast<int32_t>(o->crop_n_points_downscale_factor));
  }
  if (args.Has("min-mask-region-area")) {
    r.set_min_mask_region_area(static_cast<int32_t>(o->min_mask_region_area));
  }
  if (args.Switch("use-m2m")) r.set_use_m2m(true);
  if (args.Switch("single-mask")) r.set_multimask_output(false);
  r.set_mask_format(v1::MASK_FORMAT_RLE);
  return r;
}

// A generated mask as the record `sam2 masks` writes.
absl::StatusOr<MaskRecord> ToMaskRecord(const v1::GeneratedMask& g) {
  if (g.mask().data_case() != v1::Mask::kRleCounts || g.bbox_size() != 4 ||
      g.crop_box_size() != 4) {
    return absl::InternalError("the server sent a malformed generated mask");
  }
  MaskRecord r;
  r.coco_counts = g.mask().rle_counts();
  absl::StatusOr<Rle> rle =
      DecodeCocoCounts(r.coco_counts, g.mask().height(), g.mask().width());
  if (!rle.ok()) return rle.status();
  r.rle = *std::move(rle);
  for (int i = 0; i < 4; ++i) {
    r.bbox[i] = g.bbox(i);
    r.crop_box[i] = g.crop_box(i);
  }
  r.area = g.area();
  r.predicted_iou = g.predicted_iou();
  r.point_coords = {g.point_x(), g.point_y()};
  r.stability_score = g.stability_score();
  return r;
}

absl::Status RemoteMasks(const CliArgs& args, std::ostream& out,
                         std::ostream& err) {
  const std::string image_path = args.Get("image");
  const std::string out_path = args.Get("out");
  if (args.Get("server").empty() || image_path.empty() || out_path.empty()) {
    return absl::InvalidArgumentError(
        "--server, --image and --out are required");
  }
  absl::StatusOr<v1::GenerateMasksRequest> request = MasksRequest(args);
  if (!request.ok()) return request.status();
  absl::StatusOr<std::unique_ptr<Sam2Client>> client = ConnectTo(args, err);
  if (!client.ok()) return client.status();
  absl::StatusOr<std::string> image = ReadFile(image_path, "--image");
  if (!image.ok()) return image.status();

  absl::StatusOr<v1::ImageSession> session =
      (*client)->CreateImageSession(*image);
  if (!session.ok()) return session.status();
  ScopedSession scoped(client->get(), session->name());
  request->set_session(scoped.name());
  const absl::Time t0 = absl::Now();
  absl::StatusOr<v1::GenerateMasksResponse> response =
      (*client)->GenerateMasks(*request);
  if (!response.ok()) return response.status();
  const absl::Time t1 = absl::Now();

  std::vector<MaskRecord> records;
  for (const v1::GeneratedMask& g : response->masks()) {
    absl::StatusOr<MaskRecord> r = ToMaskRecord(g);
    if (!r.ok()) return r.status();
    records.push_back(*std::move(r));
  }
  std::ofstream file(out_path);
  file << MasksToCocoJson(image_path, session->height(), session->width(),
                          records)
              .dump()
       << "\n";
  file.close();
  if (!file) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", out_path));
  }
  out << absl::StrFormat("%d masks in %.2f s\n", records.size(),
                         absl::ToDoubleSeconds(t1 - t0));
  out << "wrote " << out_path << "\n";
  if (args.Has("overlay")) {
    const std::string overlay = args.Get("overlay");
    absl::StatusOr<RgbImage> rgb = DecodeImage(*image);
    if (!rgb.ok()) return rgb.status();
    if (absl::Status s = WriteMasksOverlay(rgb->pixels, records, overlay);
        !s.ok()) {
      return s;
    }
    out << "wrote " << overlay << "\n";
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// track

// AddPromptsRequest for one object on one frame.
absl::StatusOr<v1::AddPromptsRequest> PromptRequest(
    const TrackPrompt& p, const v1::VideoSession& video) {
  v1::AddPromptsRequest r;
  r.set_session(video.name());
  r.set_frame_index(static_cast<int32_t>(p.frame));
  r.set_object_id(p.obj_id);
  r.set_mask_format(v1::MASK_FORMAT_RLE);
  if (!p.mask_path.empty()) {
    absl::StatusOr<at::Tensor> mask =
        ReadTrackMask(p.mask_path, video.height(), video.width());
    if (!mask.ok()) return mask.status();
    at::Tensor u8 = mask->to(at::kByte).contiguous();
    cv::Mat view(static_cast<int>(u8.size(0)), static_cast<int>(u8.size(1)),
                 CV_8UC1, u8.data_ptr());
    absl::StatusOr<v1::Mask> rle = EncodeMaskRle(view);
    if (!rle.ok()) return rle.status();
    *r.mutable_mask() = *std::move(rle);
    return r;
  }
  for (size_t i = 0; i < p.labels.size(); ++i) {
    *r.add_points() =
        MakePoint(p.point_xy[2 * i], p.point_xy[2 * i + 1], p.labels[i]);
  }
  if (p.box) {
    *r.mutable_box() =
        MakeBox((*p.box)[0], (*p.box)[1], (*p.box)[2], (*p.box)[3]);
  }
  return r;
}

absl::Status RemoteTrack(const CliArgs& args,
                         const std::vector<std::string>& argv,
                         std::ostream& out, std::ostream& err,
                         bool show_progress) {
  const std::string video_path = args.Get("video");
  const std::string out_dir = args.Get("out");
  if (args.Get("server").empty() || video_path.empty() || out_dir.empty()) {
    return absl::InvalidArgumentError(
        "--server, --video and --out are required");
  }
  absl::StatusOr<std::vector<TrackPrompt>> prompts = ParseTrackPrompts(argv);
  if (!prompts.ok()) return prompts.status();
  absl::StatusOr<std::optional<int64_t>> max_frames = ParseTrackMaxFrames(args);
  if (!max_frames.ok()) return max_frames.status();

  // A JPEG folder is sent frame by frame (its frames are checked and
  // ordered here, as the local command reads them); a file goes as is.
  std::error_code ec;
  const bool is_folder = std::filesystem::is_directory(video_path, ec);
  std::unique_ptr<JpegFolderFrameSource> folder;
  std::vector<std::string> frames;
  if (is_folder) {
    absl::StatusOr<std::unique_ptr<JpegFolderFrameSource>> f =
        JpegFolderFrameSource::Open(video_path);
    if (!f.ok()) return f.status();
    folder = *std::move(f);
    if (absl::Status s =
            CheckTrackPrompts(*prompts, folder->num_frames()).status();
        !s.ok()) {
      return s;
    }
    for (const std::string& path : folder->frame_paths()) {
      absl::StatusOr<std::string> bytes = ReadFile(path, "frame");
      if (!bytes.ok()) return bytes.status();
      frames.push_back(*std::move(bytes));
    }
  } else if (!std::filesystem::is_regular_file(video_path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("--video ", video_path, ": no such file or directory"));
  }
  std::filesystem::create_directories(out_dir, ec);
  if (ec || !std::filesystem::is_directory(out_dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--out ", out_dir, ": cannot create the directory"));
  }
  absl::StatusOr<std::unique_ptr<Sam2Client>> client = ConnectTo(args, err);
  if (!client.ok()) return client.status();

  const absl::Time t_upload = absl::Now();
  absl::StatusOr<v1::VideoSession> video;
  {
    ProgressBar bar(err, show_progress, FormatUploadProgress);
    VideoUploadOptions upload;
    upload.on_progress = [&bar](int64_t sent, int64_t total) {
      bar.Update(sent, total);
    };
    video = is_folder
                ? (*client)->CreateVideoSessionFromFrames(frames, upload)
                : (*client)->CreateVideoSessionFromFile(video_path, upload);
  }
  if (!video.ok()) return video.status();
  ScopedSession scoped(client->get(), video->name());
  frames.clear();
  absl::StatusOr<std::vector<int64_t>> obj_ids =
      CheckTrackPrompts(*prompts, video->num_frames());
  if (!obj_ids.ok()) return obj_ids.status();

  const absl::Time t_prompt = absl::Now();
  for (const TrackPrompt& p : *prompts) {
    absl::StatusOr<v1::AddPromptsRequest> request = PromptRequest(p, *video);
    if (!request.ok()) return request.status();
    absl::StatusOr<v1::FrameMasks> m = (*client)->AddPrompts(*request);
    if (!m.ok()) {
      return absl::Status(m.status().code(),
                          absl::StrFormat("object %d, frame %d: %s", p.obj_id,
                                          p.frame, m.status().message()));
    }
  }
  const absl::Time t_propagate = absl::Now();

  v1::PropagateVideoRequest request;
  request.set_session(scoped.name());
  request.set_direction(args.Switch("reverse") ? v1::DIRECTION_BOTH
                                               : v1::DIRECTION_FORWARD);
  if (*max_frames) request.set_max_frames(static_cast<int32_t>(**max_frames));
  request.set_mask_format(v1::MASK_FORMAT_RLE);
  TrackTally tally;
  int64_t done = 0;
  absl::Status s;
  {
    ProgressBar bar(err, show_progress, FormatTrackProgress);
    s = (*client)->Propagate(
        request, [&](const v1::PropagateVideoResponse& r) -> absl::Status {
          const v1::FrameMasks& f = r.frame();
          std::vector<std::pair<int64_t, int64_t>> areas;
          for (const v1::ObjectMask& o : f.objects()) {
            absl::StatusOr<cv::Mat> mask = DecodeBinaryMask(o.mask());
            if (!mask.ok()) return mask.status();
            if (absl::Status w = WriteImage(
                    *mask,
                    TrackMaskPath(out_dir, f.frame_index(), o.object_id()));
                !w.ok()) {
              return w;
            }
            areas.emplace_back(o.object_id(), cv::countNonZero(*mask));
          }
          tally.AddFrame(f.frame_index(), areas);
          done = r.frames_done();
          bar.Update(r.frames_done(), r.frames_total());
          return absl::OkStatus();
        });
  }
  if (!s.ok()) return s;
  if (tally.num_frames() == 0)
    return absl::InternalError("no frame was tracked");
  const absl::Time t_done = absl::Now();

  absl::StatusOr<v1::VideoSession> info =
      (*client)->GetVideoSession(scoped.name());
  if (!info.ok()) return info.status();
  std::map<int64_t, std::vector<int64_t>> prompted;
  for (const v1::PromptedFrames& p : info->prompted_frames()) {
    prompted[p.object_id()].assign(p.frame_indices().begin(),
                                   p.frame_indices().end());
  }
  out << tally.Summary(*obj_ids, prompted, video->num_frames(), out_dir);
  if (args.Has("overlay-video")) {
    std::unique_ptr<FrameSource> opened;
    FrameSource* source = folder.get();
    if (source == nullptr) {
      absl::StatusOr<std::unique_ptr<FrameSource>> f =
          OpenVideoFrames(video_path);
      if (!f.ok()) return f.status();
      opened = *std::move(f);
      source = opened.get();
    }
    absl::Status w = WriteTrackOverlayVideo(
        *source, out_dir, *obj_ids, *prompts, tally.first_frame(),
        tally.last_frame(), VideoFps(video_path), args.Get("overlay-video"),
        out);
    if (!w.ok()) return w;
  }
  const double seconds = absl::ToDoubleSeconds(t_done - t_propagate);
  out << absl::StrFormat(
      "session %s: upload %.2f s, prompts %.1f ms, propagation %.2f s (%.2f "
      "frames/s) (%s)\n",
      scoped.name(), absl::ToDoubleSeconds(t_prompt - t_upload),
      Ms(t_propagate - t_prompt), seconds,
      seconds > 0 ? static_cast<double>(done) / seconds : 0.0,
      args.Get("server"));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// info

absl::Status RemoteInfo(const CliArgs& args, std::ostream& out,
                        std::ostream& err) {
  if (args.Get("server").empty()) {
    return absl::InvalidArgumentError("--server is required");
  }
  absl::StatusOr<std::unique_ptr<Sam2Client>> client = ConnectTo(args, err);
  if (!client.ok()) return client.status();
  absl::StatusOr<v1::ServerInfo> info = (*client)->GetServerInfo();
  if (!info.ok()) return info.status();
  const v1::Limits& l = info->limits();
  out << "server " << args.Get("server") << " (instance " << info->instance_id()
      << ", version " << info->version() << ")\n"
      << "model " << info->model_variant() << " from " << info->checkpoint()
      << ", input " << info->image_size() << " px, devices "
      << absl::StrJoin(info->devices(), ",") << "\n"
      << absl::StrFormat(
             "limits: messages %d bytes, images %d px a side / %d px, %d "
             "points, %d boxes, %d objects, videos %d frames / %d px a side / "
             "%d bytes, %d sessions, idle TTL %d s, absolute TTL %d s\n",
             l.max_message_bytes(), l.max_image_side(), l.max_image_pixels(),
             l.max_points(), l.max_boxes(), l.max_objects(),
             l.max_video_frames(), l.max_video_side(),
             l.max_video_upload_bytes(), l.max_sessions(), l.idle_ttl_seconds(),
             l.absolute_ttl_seconds());
  for (int w = 0; w < info->workers_size(); ++w) {
    const v1::WorkerInfo& worker = info->workers(w);
    out << "worker " << w << ": " << worker.device() << ", "
        << worker.precision() << ", sessions up to "
        << (worker.session_budget_bytes() >> 20) << " MiB";
    if (worker.memory_total_bytes() > 0) {
      out << " (" << (worker.memory_free_bytes() >> 20) << " of "
          << (worker.memory_total_bytes() >> 20)
          << " MiB free after the weights)";
    }
    out << absl::StrFormat(", relative speed %.3g", worker.relative_speed());
    if (worker.encoder_ms() > 0) {
      out << absl::StrFormat(" (image encoder %.1f ms)", worker.encoder_ms());
    }
    out << "\n";
  }
  if (info->meaningless_masks() || !info->warning().empty()) {
    out << "WARNING: " << info->warning() << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatUploadProgress(int64_t bytes_sent, int64_t bytes_total,
                                 double elapsed_s) {
  constexpr double kMb = 1e6;
  const double rate = elapsed_s > 0 ? bytes_sent / elapsed_s / kMb : 0.0;
  return absl::StrFormat("%s %.1f/%.1f MB  %.1f MB/s  uploading",
                         ProgressBarText(bytes_sent, bytes_total),
                         bytes_sent / kMb, bytes_total / kMb, rate);
}

int RunRemote(const std::vector<std::string>& argv, std::ostream& out,
              std::ostream& err, bool err_is_tty) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h" ||
      argv[0] == "help") {
    (argv.empty() ? err : out) << kUsage;
    return argv.empty() ? 2 : 0;
  }
  const std::string command = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  const std::string name = "sam2 remote " + command;
  CliSpec spec;
  if (command == "segment") {
    spec = RemoteSpec(SegmentCliSpec());
  } else if (command == "masks") {
    spec = RemoteSpec(MasksCliSpec());
  } else if (command == "track") {
    spec = RemoteSpec(TrackCliSpec());
  } else if (command == "info") {
    spec = RemoteSpec(CliSpec{{}, {}, /*max_positional=*/0});
  } else {
    err << "sam2 remote: unknown subcommand '" << command << "'\n" << kUsage;
    return 2;
  }
  if (rest.size() == 1 && (rest[0] == "--help" || rest[0] == "-h")) {
    out << kUsage;
    return 0;
  }
  absl::StatusOr<CliArgs> args = CliArgs::Parse(rest, spec);
  if (!args.ok()) {
    err << name << ": " << args.status().message() << "\n" << kUsage;
    return 2;
  }
  absl::Status s;
  try {
    if (command == "segment") {
      s = RemoteSegment(*args, out, err);
    } else if (command == "masks") {
      s = RemoteMasks(*args, out, err);
    } else if (command == "track") {
      s = RemoteTrack(*args, rest, out, err,
                      err_is_tty || args->Switch("progress"));
    } else {
      s = RemoteInfo(*args, out, err);
    }
  } catch (const c10::Error& e) {
    s = absl::InternalError(e.what_without_backtrace());
  } catch (const cv::Exception& e) {
    s = absl::InternalError(e.what());
  }
  if (s.ok()) return 0;
  if (s.code() == absl::StatusCode::kUnavailable) {
    err << name << ": the server at " << args->Get("server")
        << " is unavailable: " << s.message() << "\n";
  } else {
    err << name << ": " << StatusCodeName(s.code()) << ": " << s.message()
        << "\n";
  }
  const bool usage_error = s.code() == absl::StatusCode::kInvalidArgument ||
                           s.code() == absl::StatusCode::kOutOfRange;
  return usage_error ? 2 : 1;
}

}  // namespace sam2
