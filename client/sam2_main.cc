// The `sam2` command-line tool. Subcommands:
//   sam2 inspect CHECKPOINT [--config=YAML]
//   sam2 convert CHECKPOINT --out=FILE.safetensors [--config=YAML]
// Later issues add segment, masks, golden and the remote client.

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "client/inspect_command.h"

ABSL_FLAG(std::string, checkpoint, "",
          "Model weights (.pt or .safetensors); may also be given as the "
          "first argument after the subcommand.");
ABSL_FLAG(std::string, config, "",
          "Model config (official Hydra YAML); default: detect the variant.");
ABSL_FLAG(std::string, out, "", "Output file (convert).");

namespace {

constexpr char kUsage[] =
    "sam2 SUBCOMMAND [args]\n"
    "  inspect CHECKPOINT [--config=YAML]      what a checkpoint holds and "
    "the config it runs with\n"
    "  convert CHECKPOINT --out=F.safetensors  rewrite weights as "
    "safetensors\n";

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = positional[1];
  std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  if (checkpoint.empty() && positional.size() >= 3) checkpoint = positional[2];
  if (command == "inspect" || command == "convert") {
    if (checkpoint.empty()) {
      std::cerr << "sam2 " << command << ": a checkpoint path is required\n";
      return 2;
    }
    if (command == "inspect") {
      return sam2::RunInspect(checkpoint, absl::GetFlag(FLAGS_config),
                              std::cout, std::cerr);
    }
    return sam2::RunConvert(checkpoint, absl::GetFlag(FLAGS_config),
                            absl::GetFlag(FLAGS_out), std::cout, std::cerr);
  }
  std::cerr << "sam2: unknown subcommand '" << command << "'\n" << kUsage;
  return 2;
}
