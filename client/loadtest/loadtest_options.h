// LoadtestOptions: the load tester's command line, parsed and checked.
// Every bad value is rejected with a message naming the option and the
// accepted range, before anything connects.
//
// Option names take dashes or underscores (--video_frames, --video-frames),
// `--name=value` or `--name value`. Durations are Go-style ("10s", "1.5s",
// "500ms", "2m") or a bare number of seconds.

#ifndef SAM2_CLIENT_LOADTEST_LOADTEST_OPTIONS_H_
#define SAM2_CLIENT_LOADTEST_LOADTEST_OPTIONS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/credentials_options.h"
#include "protos/sam2/v1/sam2.pb.h"

namespace sam2::loadtest {

enum class ScenarioKind { kSegment, kCreateImage, kPropagate };
// "segment", "create_image", "propagate".
absl::string_view ScenarioKindName(ScenarioKind kind);

enum class Arrival { kConstant, kPoisson };
absl::string_view ArrivalName(Arrival arrival);

// Hard limits on what one run may ask for.
inline constexpr absl::Duration kMaxDuration = absl::Hours(1);
inline constexpr absl::Duration kMaxWarmup = absl::Minutes(10);
inline constexpr int kMaxConcurrency = 4096;
inline constexpr int kMaxConnections = 256;
inline constexpr double kMaxRate = 100000;

struct LoadtestOptions {
  // host:port of the one server this run targets.
  std::string server;
  // TLS, mutual TLS and the bearer token (--tls, --ca_cert, --client_cert,
  // --client_key, --token_file or $SAM2_TOKEN; client/credentials_options.h),
  // read at parse time. Never written to the report.
  ClientCredentials security;
  // "segment", "create_image", "propagate" or "mix".
  std::string scenario = "segment";
  // The scenarios run and their weights (> 0): one entry at weight 1 unless
  // the scenario is "mix".
  std::vector<std::pair<ScenarioKind, double>> mix;

  // Closed loop: each concurrency level in turn (one level without --sweep).
  // Open loop (--rate): each rate in turn, requests/s.
  bool open_loop = false;
  std::vector<int> concurrency_levels;
  std::vector<double> rates;
  Arrival arrival = Arrival::kConstant;
  // Open loop: at most this many requests outstanding; later arrivals are
  // dropped and counted.
  int max_inflight = 1000;

  // Each level stops after `duration` or `max_requests` measured requests,
  // whichever comes first, after `warmup` (not measured).
  absl::Duration duration = absl::Seconds(10);
  int64_t max_requests = 0;  // 0: no limit
  absl::Duration warmup = absl::Seconds(2);
  int connections = 1;
  absl::Duration timeout = absl::Seconds(30);
  // How long to wait for the connections before giving up.
  absl::Duration connect_timeout = absl::Seconds(10);

  // Media: a JPEG/PNG file for image sessions (empty: a synthetic PNG), a
  // directory of JPEG frames (empty: a synthetic video of `video_frames`).
  std::string image_path;
  std::string frames_dir;
  int video_frames = 8;
  int synthetic_width = 640;
  int synthetic_height = 480;

  // Sessions set up before the run: image sessions that `segment` clicks on
  // (round-robin), video sessions `propagate` streams from (one stream per
  // session at a time; 0: as many as the largest concurrency level, or 8 in
  // open loop).
  int image_sessions = 4;
  int video_sessions = 0;
  // Frames per propagation (0: to the end of the video).
  int max_frames = 0;
  v1::MaskFormat mask_format = v1::MASK_FORMAT_RLE;
  uint64_t seed = 1;

  std::string json_path;
  std::string plot_path;
  bool help = false;

  bool Runs(ScenarioKind kind) const;
  // The video sessions to set up (video_sessions, or its default).
  int VideoSessionsNeeded() const;
};

// `args` excludes the program name. INVALID_ARGUMENT with a message for the
// user on any bad option or value (unreadable TLS or token files
// included); `help` set (and nothing checked) when --help is given.
// `environment_token` ($SAM2_TOKEN; null: none) is the token when there is
// no --token_file.
absl::StatusOr<LoadtestOptions> ParseLoadtestOptions(
    const std::vector<std::string>& args,
    const char* environment_token = nullptr);

// Parses "10s", "1.5s", "500ms", "2m", or a bare number of seconds.
absl::StatusOr<absl::Duration> ParseLoadDuration(absl::string_view text,
                                                 absl::string_view option);

extern const char kLoadtestUsage[];

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_LOADTEST_OPTIONS_H_
