#include "client/loadtest/report.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace sam2::loadtest {
namespace {

std::string Ms(double v) { return absl::StrFormat("%.2f", v); }

// A percentile of `samples`, or "-" when there are none.
std::string MsOf(const LatencySamples& samples, double p) {
  return samples.empty() ? "-" : Ms(samples.Percentile(p));
}

std::string Codes(const ScenarioStats& s) {
  std::vector<std::string> parts;
  // OK first, then the failures in name order.
  if (auto it = s.codes.find("OK"); it != s.codes.end()) {
    parts.push_back(absl::StrCat("OK=", it->second));
  }
  for (const auto& [code, count] : s.codes) {
    if (code != "OK") parts.push_back(absl::StrCat(code, "=", count));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, " ");
}

std::string DurationText(absl::Duration d) {
  return absl::FormatDuration(d);
}

std::string LoadLine(const RunReport& r) {
  const LoadtestOptions& o = r.options;
  std::string load =
      o.open_loop ? absl::StrCat("open loop (", ArrivalName(o.arrival),
                                 " arrivals, max_inflight ", o.max_inflight, ")")
                  : "closed loop";
  std::string stop = absl::StrCat(DurationText(o.duration), " per level");
  if (o.max_requests > 0) {
    stop = absl::StrCat(o.max_requests, " requests or ", stop);
  }
  const std::string warmup =
      o.warmup > absl::ZeroDuration()
          ? absl::StrCat("+", DurationText(o.warmup), " warm-up")
          : "no warm-up";
  return absl::StrCat(load, ", ", stop, " (", warmup, "), ", o.connections,
                      o.connections == 1 ? " connection" : " connections",
                      ", timeout ", DurationText(o.timeout));
}

std::string MixText(const LoadtestOptions& o) {
  if (o.scenario != "mix") return o.scenario;
  std::vector<std::string> parts;
  for (const auto& [kind, w] : o.mix) {
    parts.push_back(absl::StrFormat("%s:%g", ScenarioKindName(kind), w));
  }
  return absl::StrCat("mix ", absl::StrJoin(parts, ","));
}

nlohmann::json SummaryJson(const LatencySamples& samples) {
  const LatencySummary s = samples.Summary();
  return {{"count", s.count}, {"min", s.min}, {"mean", s.mean},
          {"p50", s.p50},     {"p90", s.p90}, {"p95", s.p95},
          {"p99", s.p99},     {"max", s.max}};
}

}  // namespace

void WriteTable(const RunReport& r, std::ostream& out) {
  out << "sam2_loadtest -> " << r.options.server;
  if (!r.server_model.empty()) {
    out << " (" << r.server_model;
    if (!r.server_devices.empty()) {
      out << " on " << absl::StrJoin(r.server_devices, ",");
    }
    if (r.server_meaningless_masks) out << ", test model: meaningless masks";
    out << ")";
  }
  out << "\n";
  out << "scenario " << MixText(r.options) << "; " << LoadLine(r) << "\n";
  for (const std::string& s : r.setup) out << "setup   " << s << "\n";
  out << "\n";

  const std::string header = absl::StrFormat(
      "%-17s %-13s %8s %9s %9s %9s %9s %9s %9s %9s %9s  %s", "level",
      "scenario", "sent", "req/s", "min", "mean", "p50", "p90", "p95", "p99",
      "max", "status codes");
  out << absl::StrFormat("%-50s%s\n", "",
                         "latency of OK requests, ms");
  out << header << "\n" << std::string(header.size() + 8, '-') << "\n";
  bool any_stream = false;
  for (const LevelResult& level : r.levels) {
    for (const ScenarioStats& s : level.scenarios) {
      if (s.streaming) any_stream = true;
      const LatencySamples& l = s.latency_ms;
      const std::string mean = l.empty() ? "-" : Ms(l.Summary().mean);
      out << absl::StrFormat(
                 "%-17s %-13s %8d %9.2f %9s %9s %9s %9s %9s %9s %9s  %s",
                 level.label, s.scenario, s.sent, level.Throughput(s),
                 MsOf(l, 0), mean, MsOf(l, 50), MsOf(l, 90), MsOf(l, 95),
                 MsOf(l, 99), MsOf(l, 100), Codes(s))
          << "\n";
    }
  }
  if (any_stream) {
    out << "\n";
    const std::string sh = absl::StrFormat(
        "%-17s %-13s %8s %9s %13s %13s %15s %15s", "level", "streams",
        "frames", "frames/s", "1st mask p50", "1st mask p99", "inter-frame p50",
        "inter-frame p99");
    out << sh << "\n" << std::string(sh.size(), '-') << "\n";
    for (const LevelResult& level : r.levels) {
      for (const ScenarioStats& s : level.scenarios) {
        if (!s.streaming) continue;
        out << absl::StrFormat(
                   "%-17s %-13s %8d %9.2f %13s %13s %15s %15s", level.label,
                   s.scenario, s.frames, level.FramesPerSecond(s),
                   MsOf(s.first_frame_ms, 50), MsOf(s.first_frame_ms, 99),
                   MsOf(s.inter_frame_ms, 50), MsOf(s.inter_frame_ms, 99))
            << "\n";
      }
    }
  }

  // Notes: what went wrong, and where.
  std::vector<std::string> notes;
  for (const LevelResult& level : r.levels) {
    if (level.interrupted) {
      notes.push_back(absl::StrCat(level.label, ": interrupted"));
    }
    if (level.dropped_arrivals > 0) {
      notes.push_back(absl::StrCat(
          level.label, ": ", level.dropped_arrivals,
          " arrivals dropped (max_inflight outstanding: the server is not "
          "keeping up with the rate)"));
    }
    if (level.abandoned > 0) {
      notes.push_back(absl::StrCat(level.label, ": ", level.abandoned,
                                   " requests never reported back"));
    }
    for (const ScenarioStats& s : level.scenarios) {
      for (const auto& [code, message] : s.first_error) {
        notes.push_back(absl::StrCat(level.label, " ", s.scenario, ": ", code,
                                     ", e.g. \"", message, "\""));
      }
    }
  }
  notes.push_back(absl::StrCat("cleanup: ", r.cleanup.deleted,
                               " sessions deleted",
                               r.cleanup.failed > 0
                                   ? absl::StrCat(", ", r.cleanup.failed,
                                                  " failed: ",
                                                  r.cleanup.first_error)
                                   : ""));
  out << "\n";
  for (const std::string& n : notes) out << "note    " << n << "\n";
}

nlohmann::json ReportJson(const RunReport& r) {
  const LoadtestOptions& o = r.options;
  nlohmann::json j;
  j["server"] = o.server;
  j["server_info"] = {{"model", r.server_model},
                      {"devices", r.server_devices},
                      {"meaningless_masks", r.server_meaningless_masks}};
  j["scenario"] = o.scenario;
  nlohmann::json mix = nlohmann::json::object();
  for (const auto& [kind, w] : o.mix) mix[std::string(ScenarioKindName(kind))] = w;
  j["mix"] = mix;
  j["load"] = {
      {"model", o.open_loop ? "open" : "closed"},
      {"arrival", o.open_loop ? std::string(ArrivalName(o.arrival)) : ""},
      {"duration_s", absl::ToDoubleSeconds(o.duration)},
      {"warmup_s", absl::ToDoubleSeconds(o.warmup)},
      {"max_requests", o.max_requests > 0 ? nlohmann::json(o.max_requests)
                                          : nlohmann::json(nullptr)},
      {"connections", o.connections},
      {"timeout_s", absl::ToDoubleSeconds(o.timeout)}};
  if (o.open_loop) j["load"]["max_inflight"] = o.max_inflight;
  j["setup"] = r.setup;
  nlohmann::json levels = nlohmann::json::array();
  for (const LevelResult& level : r.levels) {
    nlohmann::json l;
    l["label"] = level.label;
    if (level.open_loop) {
      l["rate"] = level.rate;
    } else {
      l["concurrency"] = level.concurrency;
    }
    l["window_s"] = level.window_s;
    l["dropped_arrivals"] = level.dropped_arrivals;
    l["abandoned"] = level.abandoned;
    l["interrupted"] = level.interrupted;
    nlohmann::json scenarios = nlohmann::json::array();
    for (const ScenarioStats& s : level.scenarios) {
      nlohmann::json sj;
      sj["name"] = s.scenario;
      sj["sent"] = s.sent;
      sj["ok"] = s.ok();
      sj["throughput_rps"] = level.Throughput(s);
      sj["ok_throughput_rps"] =
          level.window_s > 0 ? static_cast<double>(s.ok()) / level.window_s : 0;
      sj["latency_ms"] = SummaryJson(s.latency_ms);
      sj["status_codes"] = s.codes;
      sj["errors"] = s.first_error;
      if (s.streaming) {
        sj["stream"] = {{"frames", s.frames},
                        {"frames_per_s", level.FramesPerSecond(s)},
                        {"time_to_first_mask_ms", SummaryJson(s.first_frame_ms)},
                        {"inter_frame_ms", SummaryJson(s.inter_frame_ms)}};
      }
      scenarios.push_back(std::move(sj));
    }
    l["scenarios"] = std::move(scenarios);
    levels.push_back(std::move(l));
  }
  j["levels"] = std::move(levels);
  j["cleanup"] = {{"deleted", r.cleanup.deleted},
                  {"failed", r.cleanup.failed},
                  {"error", r.cleanup.first_error}};
  return j;
}

absl::Status WriteJsonFile(const RunReport& report, const std::string& path) {
  std::ofstream out(path);
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  out << ReportJson(report).dump(2) << "\n";
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace sam2::loadtest
