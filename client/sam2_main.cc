// The `sam2` command-line tool: one binary, one subcommand per job. Each
// subcommand parses its own arguments (client/cli_args.h).

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli_args.h"
#include "client/inspect_command.h"
#include "client/masks_command.h"
#include "client/loadtest/loadtest_command.h"
#include "client/remote_command.h"
#include "client/segment_command.h"
#include "client/track_command.h"
#include "tests/golden/golden_cli.h"

namespace {

constexpr char kUsage[] =
    "usage: sam2 SUBCOMMAND [args]\n"
    "  inspect CHECKPOINT [--config YAML]\n"
    "      what a checkpoint holds and the config it runs with\n"
    "  convert CHECKPOINT --out FILE.safetensors [--config YAML]\n"
    "      rewrite the weights as safetensors (same key names)\n"
    "  segment --checkpoint CKPT --image IMG --point x,y[,label] ... "
    "[--box x0,y0,x1,y1]\n"
    "          [--multimask] --out mask.png [--overlay overlay.png] "
    "[--config YAML]\n"
    "      segment an image with clicks and/or a box\n"
    "  track --checkpoint CKPT --video FILE|DIR [--obj-id K] [--frame N]\n"
    "        --point x,y[,label] ... [--box x0,y0,x1,y1] [--mask PNG] ... "
    "--out DIR\n"
    "        [--overlay-video out.mp4] [--reverse] [--max-frames N] "
    "[--progress]\n"
    "      track objects through a video (sam2 track --help for the "
    "grammar)\n"
    "  masks --checkpoint CKPT --image IMG --out masks.json "
    "[--overlay overlay.png]\n"
    "        [--points-per-side 32] [--pred-iou-thresh 0.8] ... [--progress]\n"
    "      automatic masks for the whole image, COCO RLE JSON "
    "(sam2 masks --help lists the options)\n"
    "  remote segment|masks|track|info --server HOST:PORT [options]\n"
    "      the same on a sam2 server (sam2 remote --help)\n"
    "  loadtest --server HOST:PORT [--scenario=segment|create_image|propagate|mix]\n"
    "      load-test a sam2 server (sam2 loadtest --help)\n"
    "  golden [--device=cpu|cuda|cuda:N] [--precision=float32|bfloat16|auto] "
    "FIXTURE_DIR...\n"
    "      check the model against reference outputs (tests/fixtures "
    "layout) on that device: float32 bounds, or bfloat16's own\n";

int RunCheckpointCommand(const std::string& command,
                         const std::vector<std::string>& argv) {
  absl::StatusOr<sam2::CliArgs> args =
      sam2::CliArgs::Parse(argv, {{"config", "out", "checkpoint"}, {}, 1});
  if (!args.ok()) {
    std::cerr << "sam2 " << command << ": " << args.status().message() << "\n"
              << kUsage;
    return 2;
  }
  std::string checkpoint = args->Get("checkpoint");
  if (checkpoint.empty() && !args->positional().empty()) {
    checkpoint = args->positional()[0];
  }
  if (checkpoint.empty()) {
    std::cerr << "sam2 " << command << ": a checkpoint path is required\n"
              << kUsage;
    return 2;
  }
  if (command == "inspect") {
    return sam2::RunInspect(checkpoint, args->Get("config"), std::cout,
                            std::cerr);
  }
  return sam2::RunConvert(checkpoint, args->Get("config"), args->Get("out"),
                          std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" ||
      std::string(argv[1]) == "help") {
    std::cerr << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  const std::vector<std::string> rest(argv + 2, argv + argc);
  if (command == "inspect" || command == "convert") {
    return RunCheckpointCommand(command, rest);
  }
  if (command == "segment") return sam2::RunSegment(rest, std::cout, std::cerr);
  if (command == "track") {
    return sam2::RunTrack(rest, std::cout, std::cerr, isatty(STDERR_FILENO));
  }
  if (command == "masks") {
    return sam2::RunMasks(rest, std::cout, std::cerr, isatty(STDERR_FILENO));
  }
  if (command == "loadtest") {
    return sam2::loadtest::RunLoadtest(rest, std::cout, std::cerr);
  }
  if (command == "remote") {
    return sam2::RunRemote(rest, std::cout, std::cerr, isatty(STDERR_FILENO));
  }
  if (command == "golden") return sam2::RunGoldenCli(rest, std::cout, std::cerr);
  std::cerr << "sam2: unknown subcommand '" << command << "'\n" << kUsage;
  return 2;
}
