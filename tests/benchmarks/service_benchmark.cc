// service_benchmark: what the gRPC layer costs. Prints the median latency of
// one Segment call on a cached embedding in-process (the model alone, and
// the session layer with RLE encoding, which is what a worker runs) and
// through gRPC on loopback (client stub -> server -> worker -> response),
// and the time to the first streamed mask of a PropagateVideo call, with
// the mean time between the frames that follow.
//
//   bazel run -c opt //tests/benchmarks:service_benchmark --
//       [--variant=sam2.1_hiera_tiny | --checkpoint=$PWD/tests/fixtures/...]
//       [--threads=1] [--repeats=50] [--video_frames=8] [--rounds=3]
//
// Same model, same image, same machine, same run for every figure.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "model/image_io.h"
#include "model/image_predictor.h"
#include "protos/sam2/v1/sam2.grpc.pb.h"
#include "server/server_app.h"
#include "session/image_session.h"
#include "tests/benchmarks/benchmark_model.h"

ABSL_FLAG(std::string, variant, "sam2.1_hiera_tiny",
          "Official preset with random weights (ignored with --checkpoint).");
ABSL_FLAG(std::string, checkpoint, "", "Checkpoint to serve instead.");
ABSL_FLAG(int, threads, 1,
          "LibTorch intra-op threads (in-process and on the server's worker).");
ABSL_FLAG(int, repeats, 50, "Timed Segment calls per path.");
ABSL_FLAG(int, video_frames, 8, "Frames of the synthetic video.");
ABSL_FLAG(int, rounds, 3, "Timed PropagateVideo calls.");

namespace sam2 {
namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

std::string EncodePng(const at::Tensor& rgb) {
  cv::Mat mat(static_cast<int>(rgb.size(0)), static_cast<int>(rgb.size(1)),
              CV_8UC3, rgb.data_ptr<uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(mat, bgr, cv::COLOR_RGB2BGR);
  std::vector<uint8_t> buf;
  cv::imencode(".png", bgr, buf);
  return std::string(buf.begin(), buf.end());
}

// Click i of a fixed pseudo-random sequence inside a w x h image.
std::pair<float, float> Click(int i, int64_t w, int64_t h) {
  const uint32_t a = 2654435761u * static_cast<uint32_t>(i + 1);
  return {static_cast<float>(a % static_cast<uint32_t>(w)),
          static_cast<float>((a >> 11) % static_cast<uint32_t>(h))};
}

int Run() {
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  absl::StatusOr<BenchmarkModel> bm = LoadBenchmarkModel(
      absl::GetFlag(FLAGS_variant), absl::GetFlag(FLAGS_checkpoint));
  if (!bm.ok()) {
    std::cerr << bm.status() << "\n";
    return 1;
  }
  LoadedModel loaded;
  loaded.config = bm->config;
  loaded.weights = bm->weights;
  loaded.checkpoint_path = bm->source;
  absl::StatusOr<ServedModel> model = BuildServedModel(loaded, true);
  if (!model.ok()) {
    std::cerr << model.status() << "\n";
    return 1;
  }
  const Sam2Model& image_model = *model->workers.front().image;
  absl::StatusOr<at::Tensor> image = LoadBenchmarkImage("");
  if (!image.ok()) {
    std::cerr << image.status() << "\n";
    return 1;
  }
  const std::string png = EncodePng(*image);
  const int64_t h = image->size(0), w = image->size(1);
  const int repeats = absl::GetFlag(FLAGS_repeats);
  std::printf("model: %s (%s), image %lldx%lld, %d intra-op threads, %d "
              "Segment calls per path\n",
              bm->config.name.c_str(), bm->source.c_str(),
              static_cast<long long>(w), static_cast<long long>(h),
              absl::GetFlag(FLAGS_threads), repeats);

  // In-process: the model alone, and the session layer (+ RLE encoding).
  absl::StatusOr<std::unique_ptr<ImageSession>> local =
      ImageSession::Create(image_model, png, ImageSessionLimits{});
  if (!local.ok()) {
    std::cerr << local.status() << "\n";
    return 1;
  }
  absl::StatusOr<std::vector<ImageFeatures>> features =
      EmbedImages(image_model, absl::MakeConstSpan(&*image, 1));
  // Through gRPC on loopback.
  ServerAppOptions options;
  options.grpc.address = "127.0.0.1:0";
  options.http_address = "";
  options.intra_op_threads = absl::GetFlag(FLAGS_threads);
  options.reap_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<ServerApp>> app =
      ServerApp::Start(options, *model);
  if (!app.ok()) {
    std::cerr << app.status() << "\n";
    return 1;
  }
  auto stub = v1::Sam2Service::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*app)->port()),
      grpc::InsecureChannelCredentials()));
  v1::CreateImageSessionRequest create;
  create.set_image(png);
  v1::ImageSession session;
  {
    grpc::ClientContext ctx;
    absl::Time t0 = absl::Now();
    grpc::Status s = stub->CreateImageSession(&ctx, create, &session);
    if (!s.ok()) {
      std::cerr << "CreateImageSession: " << s.error_message() << "\n";
      return 1;
    }
    std::printf("CreateImageSession through gRPC: %.1f ms\n",
                Ms(absl::Now() - t0));
  }
  // The three paths interleaved, so a change in machine load hits them
  // alike.
  std::vector<double> model_ms, session_ms, grpc_ms;
  for (int i = -1; i < repeats; ++i) {  // i = -1: warm-up
    auto [x, y] = Click(i + 1, w, h);
    ImagePromptInput prompt;
    prompt.point_coords = at::tensor({x, y}).reshape({1, 2});
    prompt.point_labels = at::tensor({1}, at::kInt);
    absl::Time t0 = absl::Now();
    absl::StatusOr<Prediction> p = PredictMasks(
        image_model, {}, features->front(), prompt, PredictOptions{});
    absl::Time t1 = absl::Now();
    SegmentInput in;
    in.points.push_back({x, y, 1});
    absl::StatusOr<SegmentOutput> out = (*local)->Segment(image_model, in);
    absl::Time t2 = absl::Now();
    if (!p.ok() || !out.ok()) {
      std::cerr << "in-process Segment failed\n";
      return 1;
    }
    v1::SegmentRequest req;
    req.set_session(session.name());
    v1::Point* point = req.add_points();
    point->set_x(x);
    point->set_y(y);
    point->set_label(1);
    v1::SegmentResponse resp;
    grpc::ClientContext ctx;
    absl::Time t3 = absl::Now();
    grpc::Status s = stub->Segment(&ctx, req, &resp);
    absl::Time t4 = absl::Now();
    if (!s.ok()) {
      std::cerr << "Segment: " << s.error_message() << "\n";
      return 1;
    }
    if (i >= 0) {
      model_ms.push_back(Ms(t1 - t0));
      session_ms.push_back(Ms(t2 - t1));
      grpc_ms.push_back(Ms(t4 - t3));
    }
  }
  const double m = Median(model_ms), se = Median(session_ms),
               g = Median(grpc_ms);
  std::printf("Segment (one click, 3 masks), median of %d:\n", repeats);
  std::printf("  in-process, model only (PredictMasks):        %8.2f ms\n", m);
  std::printf("  in-process, session layer (+ RLE encoding):   %8.2f ms\n", se);
  std::printf("  through gRPC on loopback:                     %8.2f ms"
              "  (gRPC adds %.2f ms, %.2fx the session layer)\n",
              g, g - se, se > 0 ? g / se : 0.0);

  // Time to first streamed mask.
  const int frames = absl::GetFlag(FLAGS_video_frames);
  grpc::ClientContext upload_ctx;
  v1::VideoSession video;
  auto writer = stub->CreateVideoSession(&upload_ctx, &video);
  v1::CreateVideoSessionRequest msg;
  msg.mutable_config();
  writer->Write(msg);
  for (int f = 0; f < frames; ++f) {
    at::Tensor shifted = at::roll(*image, {4 * f}, {1}).contiguous();
    v1::CreateVideoSessionRequest frame;
    frame.set_frame(EncodePng(shifted));
    writer->Write(frame);
  }
  writer->WritesDone();
  grpc::Status up = writer->Finish();
  if (!up.ok()) {
    std::cerr << "CreateVideoSession: " << up.error_message() << "\n";
    return 1;
  }
  {
    v1::AddPromptsRequest add;
    add.set_session(video.name());
    add.set_object_id(1);
    v1::Point* p = add.add_points();
    p->set_x(static_cast<float>(w / 2));
    p->set_y(static_cast<float>(h / 2));
    p->set_label(1);
    v1::FrameMasks masks;
    grpc::ClientContext ctx;
    grpc::Status s = stub->AddPrompts(&ctx, add, &masks);
    if (!s.ok()) {
      std::cerr << "AddPrompts: " << s.error_message() << "\n";
      return 1;
    }
  }
  std::vector<double> first_ms, second_ms, inter_ms;
  for (int r = 0; r < absl::GetFlag(FLAGS_rounds); ++r) {
    v1::PropagateVideoRequest req;
    req.set_session(video.name());
    grpc::ClientContext ctx;
    absl::Time t0 = absl::Now();
    auto reader = stub->PropagateVideo(&ctx, req);
    v1::PropagateVideoResponse resp;
    std::vector<absl::Time> arrivals;
    while (reader->Read(&resp)) arrivals.push_back(absl::Now());
    grpc::Status s = reader->Finish();
    if (!s.ok() || arrivals.size() != static_cast<size_t>(frames)) {
      std::cerr << "PropagateVideo: " << s.error_message() << "\n";
      return 1;
    }
    first_ms.push_back(Ms(arrivals[0] - t0));
    second_ms.push_back(Ms(arrivals[1] - t0));
    inter_ms.push_back(Ms(arrivals.back() - arrivals[1]) / (frames - 2));
  }
  std::printf("PropagateVideo, %d frames, one object, median of %d calls:\n",
              frames, absl::GetFlag(FLAGS_rounds));
  std::printf("  time to first streamed mask (the prompted frame): %8.2f ms\n",
              Median(first_ms));
  std::printf("  time to first tracked mask (the next frame):      %8.2f ms\n",
              Median(second_ms));
  std::printf("  mean time between tracked frames:                 %8.2f ms\n",
              Median(inter_ms));
  (*app)->Drain(absl::ZeroDuration());
  return 0;
}

}  // namespace
}  // namespace sam2

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return sam2::Run();
}
