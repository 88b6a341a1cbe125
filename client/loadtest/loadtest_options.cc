#include "client/loadtest/loadtest_options.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/cli_args.h"

namespace sam2::loadtest {

const char kLoadtestUsage[] =
    "usage: sam2_loadtest --server=HOST:PORT [options]\n"
    "What to send:\n"
    "  --scenario=segment|create_image|propagate|mix   (default segment)\n"
    "      segment       Segment calls with random clicks on cached image\n"
    "                    sessions (the interactive click)\n"
    "      create_image  CreateImageSession (encoder throughput), each\n"
    "                    session deleted after\n"
    "      propagate     PropagateVideo streams on prompted video sessions\n"
    "      mix           a weighted mix, --mix=segment:8,create_image:1,"
    "propagate:1\n"
    "  --mix=NAME:W,...          weights of a mix (implies --scenario=mix)\n"
    "How much (closed loop by default):\n"
    "  --concurrency=N           requests kept in flight (default 1)\n"
    "  --sweep=N1,N2,...         closed loop at each concurrency in turn\n"
    "  --rate=R[,R2,...]         open loop: R requests/s (each rate in turn)\n"
    "  --arrival=constant|poisson  open-loop arrivals (default constant)\n"
    "  --max_inflight=N          open loop: outstanding cap, later arrivals\n"
    "                            are dropped and counted (default 1000)\n"
    "  --duration=10s            measured time per level (max 1h)\n"
    "  --requests=N              or stop after N measured requests\n"
    "                            (without --duration: the 1h cap applies)\n"
    "  --warmup=2s               load before measuring, excluded from stats\n"
    "  --connections=K           gRPC connections, round-robin (default 1)\n"
    "  --timeout=30s             deadline of each request\n"
    "  --connect_timeout=10s     give up if the server is not reachable\n"
    "Security (plaintext without these):\n"
    "  --tls                     TLS, trusting the system's root CAs\n"
    "  --ca_cert=PEM             TLS, trusting this CA bundle\n"
    "  --client_cert=PEM --client_key=PEM  mutual TLS (they imply TLS)\n"
    "  --token_file=FILE         a bearer token sent on every call\n"
    "                            (default: $SAM2_TOKEN when set)\n"
    "Media and sessions:\n"
    "  --image=FILE              JPEG/PNG for image sessions (default: a\n"
    "                            synthetic PNG of --synthetic_size)\n"
    "  --frames=DIR              JPEG frames of the video (default: a\n"
    "                            synthetic video of --video_frames frames)\n"
    "  --video_frames=N          synthetic video length (default 8)\n"
    "  --synthetic_size=WxH      synthetic media size (default 640x480)\n"
    "  --sessions=N              image sessions for segment (default 4)\n"
    "  --video_sessions=N        video sessions for propagate (default: the\n"
    "                            largest concurrency, 8 in open loop)\n"
    "  --max_frames=N            frames per propagation (default: all)\n"
    "  --mask_format=rle|png|logits  (default rle)\n"
    "  --seed=N                  clicks, mix and Poisson arrivals (default 1)\n"
    "Output:\n"
    "  --json=FILE               the report as JSON\n"
    "  --plot=FILE.png           latency histograms\n"
    "The run targets only --server, stops on its own (Ctrl-C stops early)\n"
    "and deletes the sessions it created.\n";

namespace {

absl::Status Bad(absl::string_view option, absl::string_view text,
                 absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", option, "=", text, ": ", expected));
}

absl::StatusOr<int64_t> ParseInt(absl::string_view option,
                                 absl::string_view text, int64_t lo,
                                 int64_t hi) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < lo || v > hi) {
    return Bad(option, text, absl::StrCat("expected an integer in [", lo, ", ",
                                          hi, "]"));
  }
  return v;
}

absl::StatusOr<double> ParsePositive(absl::string_view option,
                                     absl::string_view text, double hi) {
  double v = 0;
  if (!absl::SimpleAtod(text, &v) || !std::isfinite(v) || v <= 0 || v > hi) {
    return Bad(option, text,
               absl::StrCat("expected a number > 0 and <= ", hi));
  }
  return v;
}

absl::StatusOr<ScenarioKind> ParseScenarioKind(absl::string_view option,
                                               absl::string_view text) {
  for (ScenarioKind k : {ScenarioKind::kSegment, ScenarioKind::kCreateImage,
                         ScenarioKind::kPropagate}) {
    if (text == ScenarioKindName(k)) return k;
  }
  return Bad(option, text,
             "expected segment, create_image or propagate");
}

absl::StatusOr<std::vector<std::pair<ScenarioKind, double>>> ParseMix(
    absl::string_view text) {
  std::vector<std::pair<ScenarioKind, double>> mix;
  std::set<ScenarioKind> seen;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::vector<absl::string_view> kv = absl::StrSplit(part, ':');
    if (kv.size() != 2) {
      return Bad("mix", text,
                 absl::StrCat("'", part,
                              "' is not NAME:WEIGHT (e.g. segment:8)"));
    }
    absl::StatusOr<ScenarioKind> kind = ParseScenarioKind("mix", kv[0]);
    if (!kind.ok()) return kind.status();
    double w = 0;
    if (!absl::SimpleAtod(kv[1], &w) || !std::isfinite(w) || w < 0) {
      return Bad("mix", text,
                 absl::StrCat("weight '", kv[1], "' of ", kv[0],
                              " is not a number >= 0"));
    }
    if (!seen.insert(*kind).second) {
      return Bad("mix", text, absl::StrCat(kv[0], " is given twice"));
    }
    if (w > 0) mix.emplace_back(*kind, w);
  }
  if (mix.empty()) {
    return Bad("mix", text, "every weight is 0: nothing to send");
  }
  return mix;
}

// "--video-frames=3" -> "--video_frames=3"; values are left alone.
std::vector<std::string> NormalizeNames(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const std::string& arg : args) {
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      std::string a = arg;
      const size_t end = std::min(a.find('='), a.size());
      std::replace(a.begin() + 2, a.begin() + static_cast<long>(end), '-', '_');
      out.push_back(a);
    } else {
      out.push_back(arg);
    }
  }
  return out;
}

}  // namespace

absl::string_view ScenarioKindName(ScenarioKind kind) {
  switch (kind) {
    case ScenarioKind::kSegment:
      return "segment";
    case ScenarioKind::kCreateImage:
      return "create_image";
    case ScenarioKind::kPropagate:
      return "propagate";
  }
  return "?";
}

absl::string_view ArrivalName(Arrival arrival) {
  return arrival == Arrival::kPoisson ? "poisson" : "constant";
}

bool LoadtestOptions::Runs(ScenarioKind kind) const {
  for (const auto& [k, w] : mix) {
    if (k == kind) return true;
  }
  return false;
}

int LoadtestOptions::VideoSessionsNeeded() const {
  if (!Runs(ScenarioKind::kPropagate)) return 0;
  if (video_sessions > 0) return video_sessions;
  if (open_loop) return 8;
  return *std::max_element(concurrency_levels.begin(),
                           concurrency_levels.end());
}

absl::StatusOr<absl::Duration> ParseLoadDuration(absl::string_view text,
                                                 absl::string_view option) {
  absl::Duration d;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) {
    if (!std::isfinite(seconds)) {
      return Bad(option, text, "expected a finite duration");
    }
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &d) ||
             d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
    return Bad(option, text,
               "expected a duration such as 10s, 1.5s, 500ms, 2m or a number "
               "of seconds");
  }
  return d;
}

absl::StatusOr<LoadtestOptions> ParseLoadtestOptions(
    const std::vector<std::string>& raw_args, const char* environment_token) {
  CliSpec spec{
      {"server", "scenario", "mix", "concurrency", "sweep", "rate", "arrival",
       "max_inflight", "duration", "requests", "warmup", "connections",
       "timeout", "connect_timeout", "image", "frames", "video_frames", "synthetic_size",
       "sessions", "video_sessions", "max_frames", "mask_format", "seed",
       "json", "plot"},
      {"help"},
      0};
  AddCredentialsOptions(OptionStyle::kUnderscores, &spec);
  absl::StatusOr<CliArgs> args = CliArgs::Parse(NormalizeNames(raw_args), spec);
  if (!args.ok()) return args.status();
  LoadtestOptions o;
  if (args->Switch("help")) {
    o.help = true;
    return o;
  }

  o.server = args->Get("server");
  if (o.server.empty()) {
    return absl::InvalidArgumentError(
        "--server=HOST:PORT is required (the one server this run targets)");
  }
  if (o.server.find(':') == std::string::npos) {
    return Bad("server", o.server, "expected HOST:PORT");
  }
  absl::StatusOr<ClientCredentials> security = LoadClientCredentials(
      GetCredentialsOptions(*args, OptionStyle::kUnderscores),
      OptionStyle::kUnderscores, environment_token);
  if (!security.ok()) return security.status();
  o.security = *std::move(security);

  // What to send.
  o.scenario = args->Get("scenario", args->Has("mix") ? "mix" : "segment");
  if (o.scenario == "mix") {
    absl::StatusOr<std::vector<std::pair<ScenarioKind, double>>> mix =
        ParseMix(args->Get("mix", "segment:8,create_image:1,propagate:1"));
    if (!mix.ok()) return mix.status();
    o.mix = *std::move(mix);
  } else {
    absl::StatusOr<ScenarioKind> kind =
        ParseScenarioKind("scenario", o.scenario);
    if (!kind.ok()) {
      return Bad("scenario", o.scenario,
                 "expected segment, create_image, propagate or mix");
    }
    if (args->Has("mix")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--mix needs --scenario=mix (or no --scenario), not --scenario=",
          o.scenario));
    }
    o.mix = {{*kind, 1.0}};
  }

  // Load model.
  if (args->Has("rate")) {
    o.open_loop = true;
    if (args->Has("concurrency") || args->Has("sweep")) {
      return absl::InvalidArgumentError(
          "--rate runs an open loop; --concurrency and --sweep are for the "
          "closed loop (give several rates as --rate=5,10,20 and cap "
          "outstanding requests with --max_inflight)");
    }
    const std::string text = args->Get("rate");
    for (absl::string_view part : absl::StrSplit(text, ',')) {
      absl::StatusOr<double> r = ParsePositive("rate", part, kMaxRate);
      if (!r.ok()) {
        return Bad("rate", text,
                   absl::StrCat("each rate must be a number of requests/s > 0 "
                                "and <= ", kMaxRate));
      }
      o.rates.push_back(*r);
    }
  } else {
    if (args->Has("arrival") || args->Has("max_inflight")) {
      return absl::InvalidArgumentError(
          "--arrival and --max_inflight are for the open loop: give --rate");
    }
    if (args->Has("concurrency") && args->Has("sweep")) {
      return absl::InvalidArgumentError(
          "give --concurrency=N or --sweep=N1,N2,..., not both");
    }
    if (args->Has("sweep")) {
      const std::string text = args->Get("sweep");
      for (absl::string_view part : absl::StrSplit(text, ',')) {
        absl::StatusOr<int64_t> c =
            ParseInt("sweep", part, 1, kMaxConcurrency);
        if (!c.ok()) {
          return Bad("sweep", text,
                     absl::StrCat("expected concurrency levels in [1, ",
                                  kMaxConcurrency, "] separated by commas"));
        }
        o.concurrency_levels.push_back(static_cast<int>(*c));
      }
    } else {
      absl::StatusOr<int64_t> c = ParseInt(
          "concurrency", args->Get("concurrency", "1"), 1, kMaxConcurrency);
      if (!c.ok()) return c.status();
      o.concurrency_levels.push_back(static_cast<int>(*c));
    }
  }
  if (args->Has("arrival")) {
    const std::string a = args->Get("arrival");
    if (a == "constant") {
      o.arrival = Arrival::kConstant;
    } else if (a == "poisson") {
      o.arrival = Arrival::kPoisson;
    } else {
      return Bad("arrival", a, "expected constant or poisson");
    }
  }
  if (args->Has("max_inflight")) {
    absl::StatusOr<int64_t> m =
        ParseInt("max_inflight", args->Get("max_inflight"), 1, 100000);
    if (!m.ok()) return m.status();
    o.max_inflight = static_cast<int>(*m);
  }

  // How long.
  if (args->Has("duration")) {
    absl::StatusOr<absl::Duration> d =
        ParseLoadDuration(args->Get("duration"), "duration");
    if (!d.ok()) return d.status();
    if (*d <= absl::ZeroDuration() || *d > kMaxDuration) {
      return Bad("duration", args->Get("duration"),
                 "must be > 0 and at most 1h");
    }
    o.duration = *d;
  } else if (args->Has("requests")) {
    o.duration = kMaxDuration;  // --requests alone: still bounded
  }
  if (args->Has("requests")) {
    absl::StatusOr<int64_t> n =
        ParseInt("requests", args->Get("requests"), 1, int64_t{1} << 40);
    if (!n.ok()) return n.status();
    o.max_requests = *n;
  }
  if (args->Has("warmup")) {
    absl::StatusOr<absl::Duration> d =
        ParseLoadDuration(args->Get("warmup"), "warmup");
    if (!d.ok()) return d.status();
    if (*d < absl::ZeroDuration() || *d > kMaxWarmup) {
      return Bad("warmup", args->Get("warmup"),
                 "must be >= 0 and at most 10m");
    }
    o.warmup = *d;
  }
  if (args->Has("timeout")) {
    absl::StatusOr<absl::Duration> d =
        ParseLoadDuration(args->Get("timeout"), "timeout");
    if (!d.ok()) return d.status();
    if (*d <= absl::ZeroDuration() || *d > kMaxDuration) {
      return Bad("timeout", args->Get("timeout"),
                 "must be > 0 and at most 1h");
    }
    o.timeout = *d;
  }
  if (args->Has("connect_timeout")) {
    absl::StatusOr<absl::Duration> d =
        ParseLoadDuration(args->Get("connect_timeout"), "connect_timeout");
    if (!d.ok()) return d.status();
    if (*d <= absl::ZeroDuration() || *d > absl::Minutes(10)) {
      return Bad("connect_timeout", args->Get("connect_timeout"),
                 "must be > 0 and at most 10m");
    }
    o.connect_timeout = *d;
  }
  if (args->Has("connections")) {
    absl::StatusOr<int64_t> k = ParseInt(
        "connections", args->Get("connections"), 1, kMaxConnections);
    if (!k.ok()) return k.status();
    o.connections = static_cast<int>(*k);
  }

  // Media and sessions.
  o.image_path = args->Get("image");
  o.frames_dir = args->Get("frames");
  if (args->Has("video_frames")) {
    if (!o.frames_dir.empty()) {
      return absl::InvalidArgumentError(
          "--video_frames sets the synthetic video's length; --frames gives "
          "the frames themselves: not both");
    }
    absl::StatusOr<int64_t> n =
        ParseInt("video_frames", args->Get("video_frames"), 1, 2000);
    if (!n.ok()) return n.status();
    o.video_frames = static_cast<int>(*n);
  }
  if (args->Has("synthetic_size")) {
    const std::string text = args->Get("synthetic_size");
    std::vector<absl::string_view> wh =
        absl::StrSplit(absl::AsciiStrToLower(text), 'x');
    int w = 0;
    int h = 0;
    if (wh.size() != 2 || !absl::SimpleAtoi(wh[0], &w) ||
        !absl::SimpleAtoi(wh[1], &h) || w < 8 || h < 8 || w > 8192 ||
        h > 8192) {
      return Bad("synthetic_size", text,
                 "expected WIDTHxHEIGHT, each side in [8, 8192]");
    }
    o.synthetic_width = w;
    o.synthetic_height = h;
  }
  if (args->Has("sessions")) {
    absl::StatusOr<int64_t> n =
        ParseInt("sessions", args->Get("sessions"), 1, 1024);
    if (!n.ok()) return n.status();
    o.image_sessions = static_cast<int>(*n);
  }
  if (args->Has("video_sessions")) {
    absl::StatusOr<int64_t> n =
        ParseInt("video_sessions", args->Get("video_sessions"), 1, 1024);
    if (!n.ok()) return n.status();
    o.video_sessions = static_cast<int>(*n);
  }
  if (args->Has("max_frames")) {
    absl::StatusOr<int64_t> n =
        ParseInt("max_frames", args->Get("max_frames"), 1, 100000);
    if (!n.ok()) return n.status();
    o.max_frames = static_cast<int>(*n);
  }
  if (args->Has("mask_format")) {
    const std::string f = args->Get("mask_format");
    if (f == "rle") {
      o.mask_format = v1::MASK_FORMAT_RLE;
    } else if (f == "png") {
      o.mask_format = v1::MASK_FORMAT_PNG;
    } else if (f == "logits") {
      o.mask_format = v1::MASK_FORMAT_LOGITS;
    } else {
      return Bad("mask_format", f, "expected rle, png or logits");
    }
  }
  if (args->Has("seed")) {
    uint64_t seed = 0;
    if (!absl::SimpleAtoi(args->Get("seed"), &seed)) {
      return Bad("seed", args->Get("seed"), "expected an unsigned integer");
    }
    o.seed = seed;
  }
  o.json_path = args->Get("json");
  o.plot_path = args->Get("plot");
  if (args->Has("plot")) {
    const std::string lower = absl::AsciiStrToLower(o.plot_path);
    if (lower.size() < 5 || lower.compare(lower.size() - 4, 4, ".png") != 0) {
      return Bad("plot", o.plot_path, "the plot is a PNG: FILE.png");
    }
  }
  if (args->Has("json") && o.json_path.empty()) {
    return Bad("json", "", "expected a file name");
  }
  return o;
}

}  // namespace sam2::loadtest
