// The report: JSON shape and values, and the table's content.

#include "client/loadtest/report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sam2::loadtest {
namespace {

RunReport Example() {
  RunReport r;
  r.options.server = "127.0.0.1:5000";
  r.options.scenario = "mix";
  r.options.mix = {{ScenarioKind::kSegment, 8}, {ScenarioKind::kPropagate, 1}};
  r.options.duration = absl::Seconds(2);
  r.options.warmup = absl::Milliseconds(500);
  r.options.connections = 2;
  r.options.timeout = absl::Seconds(3);
  r.server_model = "sam2.1_hiera_tiny";
  r.server_devices = {"cpu"};
  r.setup = {"segment: 4 image sessions of 640x480"};
  LevelResult level;
  level.label = "concurrency=4";
  level.concurrency = 4;
  level.window_s = 2;
  ScenarioStats seg;
  seg.scenario = "segment";
  seg.sent = 6;
  seg.codes = {{"OK", 4}, {"DEADLINE_EXCEEDED", 2}};
  seg.first_error = {{"DEADLINE_EXCEEDED", "Deadline Exceeded"}};
  for (double v : {10.0, 20.0, 30.0, 40.0}) seg.latency_ms.Add(v);
  ScenarioStats prop;
  prop.scenario = "propagate";
  prop.streaming = true;
  prop.sent = 1;
  prop.codes = {{"OK", 1}};
  prop.latency_ms.Add(100);
  prop.frames = 8;
  prop.first_frame_ms.Add(12);
  for (double v : {5.0, 6.0, 7.0}) prop.inter_frame_ms.Add(v);
  level.scenarios = {seg, prop};
  r.levels = {level};
  r.cleanup.deleted = 5;
  return r;
}

TEST(ReportTest, JsonShape) {
  const nlohmann::json j = ReportJson(Example());
  EXPECT_EQ(j["server"], "127.0.0.1:5000");
  EXPECT_EQ(j["server_info"]["model"], "sam2.1_hiera_tiny");
  EXPECT_EQ(j["scenario"], "mix");
  EXPECT_EQ(j["mix"]["segment"], 8);
  EXPECT_EQ(j["mix"]["propagate"], 1);
  EXPECT_EQ(j["load"]["model"], "closed");
  EXPECT_EQ(j["load"]["duration_s"], 2);
  EXPECT_EQ(j["load"]["warmup_s"], 0.5);
  EXPECT_TRUE(j["load"]["max_requests"].is_null());
  EXPECT_EQ(j["load"]["connections"], 2);
  EXPECT_EQ(j["load"]["timeout_s"], 3);
  EXPECT_FALSE(j["load"].contains("max_inflight"));
  ASSERT_EQ(j["setup"].size(), 1u);

  ASSERT_EQ(j["levels"].size(), 1u);
  const nlohmann::json& level = j["levels"][0];
  EXPECT_EQ(level["label"], "concurrency=4");
  EXPECT_EQ(level["concurrency"], 4);
  EXPECT_FALSE(level.contains("rate"));
  EXPECT_EQ(level["window_s"], 2);
  EXPECT_EQ(level["dropped_arrivals"], 0);
  ASSERT_EQ(level["scenarios"].size(), 2u);

  const nlohmann::json& seg = level["scenarios"][0];
  EXPECT_EQ(seg["name"], "segment");
  EXPECT_EQ(seg["sent"], 6);
  EXPECT_EQ(seg["ok"], 4);
  EXPECT_EQ(seg["throughput_rps"], 3);
  EXPECT_EQ(seg["ok_throughput_rps"], 2);
  EXPECT_EQ(seg["latency_ms"]["count"], 4);
  EXPECT_EQ(seg["latency_ms"]["min"], 10);
  EXPECT_EQ(seg["latency_ms"]["mean"], 25);
  EXPECT_EQ(seg["latency_ms"]["p50"], 20);
  EXPECT_EQ(seg["latency_ms"]["p90"], 40);
  EXPECT_EQ(seg["latency_ms"]["p99"], 40);
  EXPECT_EQ(seg["latency_ms"]["max"], 40);
  for (const char* key : {"min", "mean", "p50", "p90", "p95", "p99", "max"}) {
    EXPECT_TRUE(seg["latency_ms"][key].is_number()) << key;
  }
  EXPECT_EQ(seg["status_codes"]["OK"], 4);
  EXPECT_EQ(seg["status_codes"]["DEADLINE_EXCEEDED"], 2);
  EXPECT_EQ(seg["errors"]["DEADLINE_EXCEEDED"], "Deadline Exceeded");
  EXPECT_FALSE(seg.contains("stream"));

  const nlohmann::json& prop = level["scenarios"][1];
  ASSERT_TRUE(prop.contains("stream"));
  EXPECT_EQ(prop["stream"]["frames"], 8);
  EXPECT_EQ(prop["stream"]["frames_per_s"], 4);
  EXPECT_EQ(prop["stream"]["time_to_first_mask_ms"]["p50"], 12);
  EXPECT_EQ(prop["stream"]["inter_frame_ms"]["p50"], 6);
  EXPECT_EQ(prop["stream"]["inter_frame_ms"]["p99"], 7);

  EXPECT_EQ(j["cleanup"]["deleted"], 5);
  EXPECT_EQ(j["cleanup"]["failed"], 0);
}

TEST(ReportTest, OpenLoopJson) {
  RunReport r = Example();
  r.options.open_loop = true;
  r.options.arrival = Arrival::kPoisson;
  r.options.max_inflight = 7;
  r.options.max_requests = 100;
  r.levels[0].open_loop = true;
  r.levels[0].rate = 12.5;
  r.levels[0].label = "rate=12.5/s";
  r.levels[0].dropped_arrivals = 3;
  const nlohmann::json j = ReportJson(r);
  EXPECT_EQ(j["load"]["model"], "open");
  EXPECT_EQ(j["load"]["arrival"], "poisson");
  EXPECT_EQ(j["load"]["max_inflight"], 7);
  EXPECT_EQ(j["load"]["max_requests"], 100);
  EXPECT_EQ(j["levels"][0]["rate"], 12.5);
  EXPECT_FALSE(j["levels"][0].contains("concurrency"));
  EXPECT_EQ(j["levels"][0]["dropped_arrivals"], 3);
}

TEST(ReportTest, WritesAJsonFileThatParsesBack) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/r.json";
  ASSERT_TRUE(WriteJsonFile(Example(), path).ok());
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j, ReportJson(Example()));
  EXPECT_FALSE(WriteJsonFile(Example(), "/nonexistent/dir/r.json").ok());
}

TEST(ReportTest, TableHasEveryRowAndTheStreamSection) {
  std::ostringstream out;
  WriteTable(Example(), out);
  const std::string t = out.str();
  for (const char* s :
       {"127.0.0.1:5000", "sam2.1_hiera_tiny on cpu", "mix segment:8,propagate:1",
        "closed loop", "2 connections", "setup   segment: 4 image sessions",
        "p50", "p99", "status codes", "OK=4 DEADLINE_EXCEEDED=2",
        "concurrency=4", "1st mask p50", "inter-frame p99",
        "DEADLINE_EXCEEDED, e.g. \"Deadline Exceeded\"",
        "cleanup: 5 sessions deleted"}) {
    EXPECT_NE(t.find(s), std::string::npos) << "missing: " << s << "\n" << t;
  }
  // The segment row: sent, req/s, min, mean, p50.
  EXPECT_NE(t.find("segment              6      3.00     10.00     25.00     20.00"),
            std::string::npos)
      << t;
}

TEST(ReportTest, NoSuccessShowsDashesNotZeros) {
  RunReport r = Example();
  r.options.warmup = absl::ZeroDuration();
  ScenarioStats& seg = r.levels[0].scenarios[0];
  seg.latency_ms = LatencySamples();
  seg.codes = {{"DEADLINE_EXCEEDED", 6}};
  std::ostringstream out;
  WriteTable(r, out);
  EXPECT_NE(out.str().find("no warm-up"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("segment              6      3.00         -         "
                           "-         -         -         -         -         -"
                           "  DEADLINE_EXCEEDED=6"),
            std::string::npos)
      << out.str();
}

TEST(ReportTest, TableWithoutStreamsHasNoStreamSection) {
  RunReport r = Example();
  r.levels[0].scenarios.pop_back();
  std::ostringstream out;
  WriteTable(r, out);
  EXPECT_EQ(out.str().find("1st mask"), std::string::npos);
}

}  // namespace
}  // namespace sam2::loadtest
