#include "client/loadtest/loadtest_command.h"

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/loadtest/channel_pool.h"
#include "client/loadtest/create_image_scenario.h"
#include "client/loadtest/load_driver.h"
#include "client/loadtest/media.h"
#include "client/loadtest/plot.h"
#include "client/loadtest/propagate_scenario.h"
#include "client/loadtest/segment_scenario.h"

namespace sam2::loadtest {
namespace {

// Slack for outstanding requests past their own deadline at the end of a
// level (the deadline is the client's, the last bytes may still be coming).
constexpr absl::Duration kDrainMargin = absl::Seconds(5);

struct Media {
  std::string image;
  std::vector<std::string> frames;
};

absl::StatusOr<Media> LoadMedia(const LoadtestOptions& o) {
  Media m;
  if (o.Runs(ScenarioKind::kSegment) || o.Runs(ScenarioKind::kCreateImage)) {
    absl::StatusOr<std::string> image =
        o.image_path.empty()
            ? SyntheticImagePng(o.synthetic_width, o.synthetic_height)
            : ReadMediaFile(o.image_path);
    if (!image.ok()) return image.status();
    m.image = *std::move(image);
  }
  if (o.Runs(ScenarioKind::kPropagate)) {
    absl::StatusOr<std::vector<std::string>> frames =
        o.frames_dir.empty()
            ? SyntheticVideoJpegs(o.synthetic_width, o.synthetic_height,
                                  o.video_frames)
            : ReadFrameDirectory(o.frames_dir);
    if (!frames.ok()) return frames.status();
    m.frames = *std::move(frames);
  }
  return m;
}

std::unique_ptr<Scenario> MakeScenario(ScenarioKind kind,
                                       const LoadtestOptions& o,
                                       const ScenarioEnv& env,
                                       const Media& media) {
  switch (kind) {
    case ScenarioKind::kSegment:
      return std::make_unique<SegmentScenario>(env, media.image,
                                               o.image_sessions);
    case ScenarioKind::kCreateImage:
      return std::make_unique<CreateImageScenario>(env, media.image);
    case ScenarioKind::kPropagate:
      return std::make_unique<PropagateScenario>(
          env, media.frames, o.VideoSessionsNeeded(), o.max_frames);
  }
  return nullptr;
}

std::vector<LevelSpec> Levels(const LoadtestOptions& o) {
  LevelSpec base;
  base.open_loop = o.open_loop;
  base.arrival = o.arrival;
  base.max_inflight = o.max_inflight;
  base.duration = o.duration;
  base.max_requests = o.max_requests;
  base.warmup = o.warmup;
  base.drain_timeout = o.timeout + kDrainMargin;
  base.seed = o.seed;
  std::vector<LevelSpec> levels;
  if (o.open_loop) {
    for (double rate : o.rates) {
      LevelSpec l = base;
      l.rate = rate;
      levels.push_back(l);
    }
  } else {
    for (int c : o.concurrency_levels) {
      LevelSpec l = base;
      l.concurrency = c;
      levels.push_back(l);
    }
  }
  return levels;
}

}  // namespace

absl::StatusOr<RunReport> RunLoad(const LoadtestOptions& options,
                                  std::ostream& log,
                                  const std::atomic<bool>* interrupt) {
  RunReport report;
  report.options = options;

  ChannelPool channels(options.server, options.connections,
                       options.security.channel,
                       options.security.bearer_token);
  if (absl::Status s = channels.WaitForConnected(options.connect_timeout);
      !s.ok()) {
    return s;
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, options.connect_timeout + absl::Seconds(10));
    v1::ServerInfo info;
    const grpc::Status s = channels.Next().GetServerInfo(&ctx, {}, &info);
    if (!s.ok()) {
      return SetupError(
          absl::StrCat("GetServerInfo on ", options.server,
                       " (is it a sam2.v1 server?)"),
          s);
    }
    report.server_model = info.model_variant();
    report.server_devices.assign(info.devices().begin(), info.devices().end());
    report.server_meaningless_masks = info.meaningless_masks();
    if (info.meaningless_masks()) {
      log << "note: the server runs the random-weight test model (its masks "
             "mean nothing; its timings are real)\n";
    }
    const int64_t needed =
        (options.Runs(ScenarioKind::kSegment) ? options.image_sessions : 0) +
        options.VideoSessionsNeeded();
    if (info.limits().max_sessions() > 0 &&
        needed > info.limits().max_sessions()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "this run sets up ", needed, " sessions but the server allows ",
          info.limits().max_sessions(),
          ": lower --sessions/--video_sessions"));
    }
  }

  absl::StatusOr<Media> media = LoadMedia(options);
  if (!media.ok()) return media.status();

  ScenarioEnv env;
  env.channels = &channels;
  env.timeout = options.timeout;
  env.setup_timeout = std::max(absl::Seconds(120), options.timeout);
  env.mask_format = options.mask_format;
  env.seed = options.seed;
  std::vector<std::unique_ptr<Scenario>> scenarios;
  std::vector<Scenario*> pointers;
  std::vector<double> weights;
  for (const auto& [kind, weight] : options.mix) {
    scenarios.push_back(MakeScenario(kind, options, env, *media));
    pointers.push_back(scenarios.back().get());
    weights.push_back(weight);
  }

  auto cleanup = [&]() {
    CleanupResult total;
    for (auto& s : scenarios) total.Add(s->Cleanup());
    return total;
  };

  for (auto& s : scenarios) {
    log << "setting up " << s->name() << " ...\n";
    if (absl::Status st = s->Setup(); !st.ok()) {
      const CleanupResult c = cleanup();
      log << "cleanup after the failed setup: " << c.deleted
          << " sessions deleted, " << c.failed << " failed\n";
      return st;
    }
    report.setup.push_back(s->SetupSummary());
  }

  LoadDriver driver(pointers, weights, interrupt);
  bool abandoned = false;
  for (const LevelSpec& spec : Levels(options)) {
    if (interrupt && interrupt->load()) break;
    log << "running "
        << (spec.open_loop ? absl::StrFormat("rate=%g/s", spec.rate)
                           : absl::StrCat("concurrency=", spec.concurrency))
        << " for " << absl::FormatDuration(spec.duration)
        << (spec.max_requests > 0
                ? absl::StrCat(" or ", spec.max_requests, " requests")
                : "")
        << " (+" << absl::FormatDuration(spec.warmup) << " warm-up) ...\n";
    LevelResult level = driver.Run(spec);
    int64_t sent = 0;
    for (const ScenarioStats& s : level.scenarios) sent += s.sent;
    log << "  " << sent << " requests in "
        << absl::StrFormat("%.2f", level.window_s) << " s\n";
    abandoned = abandoned || level.abandoned > 0;
    report.levels.push_back(std::move(level));
  }

  report.cleanup = cleanup();
  if (abandoned) {
    // A call that never reported back may still reference its scenario.
    for (auto& s : scenarios) s.release();
  }
  return report;
}

int RunLoadtest(const std::vector<std::string>& args, std::ostream& out,
                std::ostream& err, const std::atomic<bool>* interrupt) {
  absl::StatusOr<LoadtestOptions> options =
      ParseLoadtestOptions(args, std::getenv(kTokenEnvironmentVariable));
  if (!options.ok()) {
    err << "sam2_loadtest: " << options.status().message() << "\n\n"
        << kLoadtestUsage;
    return 2;
  }
  if (options->help) {
    out << kLoadtestUsage;
    return 0;
  }
  const std::string warning =
      CleartextTokenWarning(options->security, options->server);
  if (!warning.empty()) err << "sam2_loadtest: " << warning << "\n";
  absl::StatusOr<RunReport> report = RunLoad(*options, err, interrupt);
  if (!report.ok()) {
    err << "sam2_loadtest: " << report.status().message() << "\n";
    return 1;
  }
  WriteTable(*report, out);
  int status = report->cleanup.failed > 0 ? 1 : 0;
  if (!options->json_path.empty()) {
    if (absl::Status s = WriteJsonFile(*report, options->json_path); !s.ok()) {
      err << "sam2_loadtest: " << s.message() << "\n";
      status = 1;
    }
  }
  if (!options->plot_path.empty()) {
    const std::string title =
        absl::StrCat("sam2_loadtest ", options->server, "  ", options->scenario,
                     report->server_model.empty()
                         ? ""
                         : absl::StrCat("  (", report->server_model, ")"));
    if (absl::Status s =
            WriteLatencyPlot(report->levels, title, options->plot_path);
        !s.ok()) {
      err << "sam2_loadtest: " << s.message() << "\n";
      status = 1;
    }
  }
  return status;
}

}  // namespace sam2::loadtest
