// `sam2 remote` against the whole server in-process (TestServer, micro
// model): each subcommand writes what the local subcommand writes on the
// same model, the sessions it made are gone afterwards, and bad input —
// an unreachable server above all — is a message and an exit code. Over
// mutual TLS with a token, too; the token (from --token-file or
// $SAM2_TOKEN) is seen arriving by a recording server.

#include "client/remote_command.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/credentials_options.h"
#include "client/dead_port.h"
#include "client/masks_command.h"
#include "client/routing_recorder.h"
#include "client/segment_command.h"
#include "client/track_command.h"
#include "model/rle.h"
#include "tests/server/test_server.h"
#include "tests/util/test_certs.h"

namespace sam2 {
namespace {

const std::string kDir = "tests/fixtures/sam2.1-micro/";
// The in-process server computes in float32 (ServerAppOptions' default);
// the local commands' default is `auto`, bfloat16 on bf16 CPUs.
constexpr char kLocalFloat32[] = "--precision=float32";

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

struct Result {
  int rc = -1;
  std::string out;
  std::string err;
};

Result Remote(std::vector<std::string> args, bool tty = false) {
  std::ostringstream out, err;
  Result r;
  r.rc = RunRemote(args, out, err, tty);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// Both images exist, have one size, and the same pixels.
void ExpectSameImage(const std::string& a, const std::string& b) {
  const cv::Mat x = cv::imread(a, cv::IMREAD_UNCHANGED);
  const cv::Mat y = cv::imread(b, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(x.empty()) << a;
  ASSERT_FALSE(y.empty()) << b;
  ASSERT_EQ(x.size(), y.size()) << a << " vs " << b;
  ASSERT_EQ(x.type(), y.type()) << a << " vs " << b;
  EXPECT_EQ(cv::norm(x, y, cv::NORM_INF), 0) << a << " vs " << b;
}

std::vector<std::string> PngNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".png") names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Same mask files in both directories, pixel for pixel; some non-empty.
void ExpectSameMaskDirs(const std::string& local, const std::string& remote) {
  const std::vector<std::string> names = PngNames(local);
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(PngNames(remote), names);
  int non_empty = 0;
  for (const std::string& n : names) {
    ExpectSameImage(local + "/" + n, remote + "/" + n);
    non_empty += cv::countNonZero(
                     cv::imread(remote + "/" + n, cv::IMREAD_GRAYSCALE)) > 0;
  }
  EXPECT_GT(non_empty, 0);
}

int CountFrames(const std::string& video) {
  cv::VideoCapture capture(video);
  if (!capture.isOpened()) return -1;
  int frames = 0;
  cv::Mat frame;
  while (capture.read(frame)) ++frames;
  return frames;
}

class RemoteCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::vector<std::string> Args(const std::string& command,
                                std::vector<std::string> rest) {
    std::vector<std::string> args = {command, "--server", server_->address()};
    args.insert(args.end(), rest.begin(), rest.end());
    return args;
  }

  // The video as an MJPG AVI (OpenCV writes it without FFmpeg).
  std::string WriteAvi() {
    const std::string path = Tmp("micro.avi");
    cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'),
                           10, cv::Size(320, 180));
    EXPECT_TRUE(writer.isOpened());
    for (const std::string& f : MicroVideoFrames()) {
      writer.write(cv::imdecode(std::vector<uint8_t>(f.begin(), f.end()),
                                cv::IMREAD_COLOR));
    }
    return path;
  }

  std::unique_ptr<TestServer> server_;
};

TEST(UploadProgressTest, Formats) {
  EXPECT_EQ(FormatUploadProgress(1'500'000, 6'000'000, 1.0),
            "[######..................] 1.5/6.0 MB  1.5 MB/s  uploading");
  EXPECT_EQ(FormatUploadProgress(0, 0, 0),
            "[########################] 0.0/0.0 MB  0.0 MB/s  uploading");
}

TEST_F(RemoteCommandTest, SegmentWritesWhatTheLocalCommandWrites) {
  const std::vector<std::string> prompt = {
      "--image",       kDir + "image.png",  "--point",
      "270,220",       "--point=120,120,0", "--box",
      "60,80,420,360", "--multimask"};
  std::vector<std::string> local = {kLocalFloat32, "--checkpoint", kDir + "model.pt",
                                    "--out",        Tmp("local_mask.png"),
                                    "--overlay",    Tmp("local_overlay.png")};
  local.insert(local.end(), prompt.begin(), prompt.end());
  std::ostringstream lout, lerr;
  ASSERT_EQ(RunSegment(local, lout, lerr), 0) << lerr.str();

  std::vector<std::string> rest = {"--out", Tmp("remote_mask.png"), "--overlay",
                                   Tmp("remote_overlay.png")};
  rest.insert(rest.end(), prompt.begin(), prompt.end());
  const Result r = Remote(Args("segment", rest));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("(best)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("session sessions/"), std::string::npos) << r.out;
  ExpectSameImage(Tmp("local_mask.png"), Tmp("remote_mask.png"));
  for (int i = 0; i < 3; ++i) {
    ExpectSameImage(Tmp("local_mask_" + std::to_string(i) + ".png"),
                    Tmp("remote_mask_" + std::to_string(i) + ".png"));
  }
  ExpectSameImage(Tmp("local_overlay.png"), Tmp("remote_overlay.png"));
  const cv::Mat best = cv::imread(Tmp("remote_mask.png"), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(best.type(), CV_8UC1);
  EXPECT_EQ(best.cols, 600);
  EXPECT_GT(cv::countNonZero(best), 0);
  // The same lines (mask number, IoU, area) as the local command.
  const std::string first_line = lout.str().substr(0, lout.str().find('\n'));
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), first_line);
  EXPECT_EQ(server_->app().store().size(), 0) << "the session was not deleted";
}

TEST_F(RemoteCommandTest, MasksWritesTheLocalCommandsJson) {
  const std::vector<std::string> options = {"--image",
                                            kDir + "image.png",
                                            "--points-per-side",
                                            "4",
                                            "--pred-iou-thresh",
                                            "0",
                                            "--stability-score-thresh",
                                            "0"};
  std::vector<std::string> local = {kLocalFloat32, "--checkpoint", kDir + "model.pt", "--out",
                                    Tmp("local.json")};
  local.insert(local.end(), options.begin(), options.end());
  std::ostringstream lout, lerr;
  ASSERT_EQ(RunMasks(local, lout, lerr), 0) << lerr.str();

  std::vector<std::string> rest = {"--out", Tmp("remote.json"), "--overlay",
                                   Tmp("remote_overlay.png"), "--progress"};
  rest.insert(rest.end(), options.begin(), options.end());
  const Result r = Remote(Args("masks", rest));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("masks in"), std::string::npos) << r.out;

  std::ifstream lin(Tmp("local.json")), rin(Tmp("remote.json"));
  const nlohmann::json lj = nlohmann::json::parse(lin);
  const nlohmann::json rj = nlohmann::json::parse(rin);
  EXPECT_EQ(rj["image"], lj["image"]);
  const nlohmann::json& la = lj["annotations"];
  const nlohmann::json& ra = rj["annotations"];
  ASSERT_FALSE(la.empty());
  ASSERT_EQ(ra.size(), la.size());
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_EQ(ra[i]["id"], la[i]["id"]);
    EXPECT_EQ(ra[i]["segmentation"], la[i]["segmentation"]) << i;
    EXPECT_EQ(ra[i]["area"], la[i]["area"]) << i;
    EXPECT_EQ(ra[i]["bbox"], la[i]["bbox"]) << i;
    EXPECT_EQ(ra[i]["crop_box"], la[i]["crop_box"]) << i;
    EXPECT_EQ(ra[i]["point_coords"], la[i]["point_coords"]) << i;
    // float32 on the wire
    EXPECT_NEAR(ra[i]["predicted_iou"].get<double>(),
                la[i]["predicted_iou"].get<double>(), 1e-6);
    EXPECT_NEAR(ra[i]["stability_score"].get<double>(),
                la[i]["stability_score"].get<double>(), 1e-6);
    const nlohmann::json& seg = ra[i]["segmentation"];
    absl::StatusOr<Rle> rle = DecodeCocoCounts(seg["counts"].get<std::string>(),
                                               seg["size"][0], seg["size"][1]);
    ASSERT_TRUE(rle.ok()) << rle.status();
    EXPECT_EQ(RleArea(*rle), ra[i]["area"].get<int64_t>());
  }
  const cv::Mat overlay = cv::imread(Tmp("remote_overlay.png"));
  EXPECT_EQ(overlay.cols, 600);
  EXPECT_EQ(overlay.rows, 400);
  EXPECT_EQ(server_->app().store().size(), 0);
}

TEST_F(RemoteCommandTest, TrackAFolderLikeTheLocalCommandWithProgress) {
  const std::vector<std::string> prompts = {
      "--video", kDir + "frames", "--obj-id", "1", "--point", "160,90",
      "--point", "20,20,0",       "--obj-id", "7", "--frame", "2",
      "--box",   "200,40,300,160"};
  std::vector<std::string> local = {kLocalFloat32, "--checkpoint", kDir + "model.pt", "--out",
                                    Tmp("track_local")};
  local.insert(local.end(), prompts.begin(), prompts.end());
  std::ostringstream lout, lerr;
  ASSERT_EQ(RunTrack(local, lout, lerr), 0) << lerr.str();

  std::vector<std::string> rest = {"--out", Tmp("track_remote"),
                                   "--overlay-video", Tmp("overlay.mp4"),
                                   "--progress"};
  rest.insert(rest.end(), prompts.begin(), prompts.end());
  const Result r = Remote(Args("track", rest));
  ASSERT_EQ(r.rc, 0) << r.err;
  ExpectSameMaskDirs(Tmp("track_local"), Tmp("track_remote"));
  EXPECT_EQ(PngNames(Tmp("track_remote")).size(), 16u);
  // The local command's summary, word for word (the out dir aside).
  for (const std::string& line :
       {std::string("object 1: prompted on frame 0;"),
        std::string("object 7: prompted on frame 2;"),
        std::string("over 8 frames (0..7) of 8; wrote 16 masks")}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << r.out;
  }
  const std::string summary_local =
      lout.str().substr(0, lout.str().find("tracked"));
  EXPECT_EQ(r.out.substr(0, r.out.find("tracked")), summary_local);
  // Both bars: the upload, then the frames.
  EXPECT_NE(r.err.find("uploading"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("8/8 frames"), std::string::npos) << r.err;
  std::string video = Tmp("overlay.mp4");
  if (r.out.find("writing MJPG AVI") != std::string::npos) {
    video = Tmp("overlay.avi");
  }
  EXPECT_EQ(CountFrames(video), 8) << r.out;
  EXPECT_EQ(server_->app().store().size(), 0);
}

TEST_F(RemoteCommandTest, TrackAVideoFileBothWaysLikeTheLocalCommand) {
  const std::string avi = WriteAvi();
  const std::vector<std::string> prompts = {
      "--video", avi,         "--frame",      "4", "--point",
      "160,90",  "--reverse", "--max-frames", "2"};
  std::vector<std::string> local = {kLocalFloat32, "--checkpoint", kDir + "model.pt", "--out",
                                    Tmp("file_local")};
  local.insert(local.end(), prompts.begin(), prompts.end());
  std::ostringstream lout, lerr;
  ASSERT_EQ(RunTrack(local, lout, lerr), 0) << lerr.str();

  std::vector<std::string> rest = {"--out", Tmp("file_remote")};
  rest.insert(rest.end(), prompts.begin(), prompts.end());
  const Result r = Remote(Args("track", rest));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no bars without a terminal or --progress
  // Frames 2..6: two either side of frame 4.
  EXPECT_EQ(PngNames(Tmp("file_remote")),
            (std::vector<std::string>{"00002_obj1.png", "00003_obj1.png",
                                      "00004_obj1.png", "00005_obj1.png",
                                      "00006_obj1.png"}));
  ExpectSameMaskDirs(Tmp("file_local"), Tmp("file_remote"));
  EXPECT_NE(r.out.find("over 5 frames (2..6) of 8; wrote 5 masks"),
            std::string::npos)
      << r.out;
}

TEST_F(RemoteCommandTest, TrackAMaskPrompt) {
  const std::string mask = Tmp("prompt_mask.png");
  cv::Mat m(180, 320, CV_8UC1, cv::Scalar(0));
  m(cv::Rect(100, 50, 80, 60)).setTo(cv::Scalar(255));
  ASSERT_TRUE(cv::imwrite(mask, m));
  const std::vector<std::string> prompts = {
      "--video", kDir + "frames", "--obj-id", "3", "--frame",
      "6",       "--mask",        mask};
  std::vector<std::string> local = {kLocalFloat32, "--checkpoint", kDir + "model.pt", "--out",
                                    Tmp("mask_local")};
  local.insert(local.end(), prompts.begin(), prompts.end());
  std::ostringstream lout, lerr;
  ASSERT_EQ(RunTrack(local, lout, lerr), 0) << lerr.str();
  std::vector<std::string> rest = {"--out", Tmp("mask_remote")};
  rest.insert(rest.end(), prompts.begin(), prompts.end());
  const Result r = Remote(Args("track", rest));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(PngNames(Tmp("mask_remote")).size(), 2u);  // frames 6 and 7
  ExpectSameMaskDirs(Tmp("mask_local"), Tmp("mask_remote"));
}

TEST_F(RemoteCommandTest, Info) {
  const Result r = Remote(Args("info", {}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("MEANINGLESS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("limits: messages"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("worker 0: cpu, float32, sessions up to "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" MiB, relative speed 1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(server_->app().info().instance_id()), std::string::npos);
}

TEST(RemoteUnreachableTest, EverySubcommandFailsCleanly) {
  DeadPort dead;
  ASSERT_GT(dead.port(), 0);
  const std::vector<std::vector<std::string>> commands = {
      {"segment", "--image", kDir + "image.png", "--point", "1,1", "--out",
       Tmp("u.png")},
      {"masks", "--image", kDir + "image.png", "--out", Tmp("u.json")},
      {"track", "--video", kDir + "frames", "--point", "1,1", "--out",
       Tmp("u_dir")},
      {"info"},
  };
  for (std::vector<std::string> args : commands) {
    args.insert(args.end(), {"--server", dead.address(), "--retries", "1"});
    const Result r = Remote(args);
    EXPECT_EQ(r.rc, 1) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("sam2 remote " + args[0] + ": the server at " +
                         dead.address() + " is unavailable"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("after 2 attempts"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(Tmp("u.png")));
  EXPECT_FALSE(std::filesystem::exists(Tmp("u.json")));
}

TEST_F(RemoteCommandTest, BadArguments) {
  struct Case {
    std::vector<std::string> args;
    int rc;
    std::string message;
  };
  const std::string image = kDir + "image.png";
  const std::vector<Case> cases = {
      {Args("segment",
            {"--image", image, "--point", "1,x", "--out", Tmp("b.png")}),
       2, "not a number"},
      {Args("segment", {"--image", image, "--out", Tmp("b.png")}), 2,
       "give at least one --point or a --box"},
      // The server's check, with the server's code.
      {Args("segment",
            {"--image", image, "--point", "5000,10", "--out", Tmp("b.png")}),
       2, "INVALID_ARGUMENT"},
      {Args("segment", {"--image", Tmp("missing.png"), "--point", "1,1",
                        "--out", Tmp("b.png")}),
       1, "--image"},
      {Args("segment", {"--checkpoint", "x.pt", "--image", image, "--point",
                        "1,1", "--out", Tmp("b.png")}),
       2, "unknown option --checkpoint"},
      {{"segment", "--image", image, "--point", "1,1", "--out", Tmp("b.png")},
       2,
       "--server, --image and --out are required"},
      {Args("masks", {"--image", image, "--out", Tmp("b.json"),
                      "--pred-iou-thresh", "1.5"}),
       2, "pred_iou_thresh"},
      {Args("track", {"--video", kDir + "frames", "--frame", "8", "--point",
                      "1,1", "--out", Tmp("b_dir")}),
       2, "--frame 8 is outside the video (8 frames: 0..7)"},
      {Args("track", {"--video", kDir + "frames", "--out", Tmp("b_dir")}), 2,
       "give at least one prompt"},
      {Args("track", {"--video", Tmp("missing.mp4"), "--point", "1,1", "--out",
                      Tmp("b_dir")}),
       1, "no such file"},
      {Args("track", {"--video", kDir + "frames", "--point", "1,1",
                      "--max-frames", "-3", "--out", Tmp("b_dir")}),
       2, "--max-frames"},
      {Args("info", {"--timeout", "soon"}), 2, "--timeout 'soon'"},
      {Args("info", {"--retries", "-1"}), 2, "--retries '-1'"},
      {Args("info", {"--ca-cert", Tmp("missing.pem")}), 2, "--ca-cert"},
      {Args("info", {"--client-cert", Tmp("c.pem")}), 2,
       "--client-cert and --client-key go together"},
      {Args("info", {"--token-file", Tmp("missing-token")}), 2,
       "--token-file"},
      // TLS against a plaintext server: the handshake fails.
      {Args("info", {"--tls", "--retries", "0"}), 1, "is unavailable"},
      {{"nope"}, 2, "unknown subcommand 'nope'"},
      {{}, 2, "usage: sam2 remote"},
  };
  for (const Case& c : cases) {
    const Result r = Remote(c.args);
    EXPECT_EQ(r.rc, c.rc) << c.message << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << c.message << ": " << r.err;
  }
  const Result help = Remote({"track", "--help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.out.find("--server HOST:PORT"), std::string::npos);
  EXPECT_EQ(server_->app().store().size(), 0);
}

constexpr char kToken[] = "remote-test-token-0123456789";

// Writes `contents` to the test's temporary file `name`; returns its path.
std::string WriteTmp(const std::string& name, const std::string& contents) {
  EXPECT_TRUE(ReplaceFile(Tmp(name), contents).ok());
  return Tmp(name);
}

TEST(RemoteTlsTest, SegmentOverMutualTlsWithAToken) {
  const TestCa ca = TestCa::Create("remote ca");
  const TestKeyPair server_pair = ca.IssueServer();
  const TestKeyPair client_pair = ca.IssueClient("remote client");
  ServerAppOptions options = TestServerOptions();
  options.tls.cert_path = WriteTmp("tls_server.pem", server_pair.cert_pem);
  options.tls.key_path = WriteTmp("tls_server.key", server_pair.key_pem);
  options.tls.client_ca_path = WriteTmp("tls_ca.pem", ca.cert_pem());
  absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::vector<std::string> tls = {
      "--ca-cert", options.tls.client_ca_path,
      "--client-cert", WriteTmp("tls_client.pem", client_pair.cert_pem),
      "--client-key", WriteTmp("tls_client.key", client_pair.key_pem),
      "--token-file", WriteTmp("token.txt", absl::StrCat(kToken, "\n"))};

  std::vector<std::string> args = {"segment", "--server", (*server)->address(),
                                   "--image", kDir + "image.png", "--point",
                                   "300,200", "--out", Tmp("tls_mask.png")};
  args.insert(args.end(), tls.begin(), tls.end());
  const Result r = Remote(args);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(Tmp("tls_mask.png")));
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_EQ((*server)->app().store().size(), 0);

  // Without the client certificate: refused.
  const Result anonymous =
      Remote({"info", "--server", (*server)->address(), "--ca-cert",
              options.tls.client_ca_path, "--retries", "0"});
  EXPECT_EQ(anonymous.rc, 1);
  EXPECT_NE(anonymous.err.find("is unavailable"), std::string::npos)
      << anonymous.err;
}

TEST(RemoteTokenTest, TokenFromTheFileOrTheEnvironmentReachesTheServer) {
  RoutingRecorder recorder;
  ASSERT_GT(recorder.port(), 0);
  recorder.SetReply("GetServerInfo", v1::ServerInfo());
  const std::string file = WriteTmp("token.txt", kToken);
  Result r = Remote({"info", "--server", recorder.address(), "--token-file", file});
  ASSERT_EQ(r.rc, 0) << r.err;

  const std::string env_token = "environment-token-0123456789";
  ASSERT_EQ(setenv(kTokenEnvironmentVariable, env_token.c_str(), 1), 0);
  r = Remote({"info", "--server", recorder.address()});
  const Result bad = Remote({"info", "--server", recorder.address(),
                             "--token-file", WriteTmp("bad.txt", "secret x")});
  unsetenv(kTokenEnvironmentVariable);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("--token-file"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find("secret"), std::string::npos) << bad.err;

  const std::vector<RoutingRecorder::Call> calls = recorder.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].authorizations,
            std::vector<std::string>{absl::StrCat("Bearer ", kToken)});
  EXPECT_EQ(calls[1].authorizations,
            std::vector<std::string>{absl::StrCat("Bearer ", env_token)});
}

}  // namespace
}  // namespace sam2
