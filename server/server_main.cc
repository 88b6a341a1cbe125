// sam2_server: loads a SAM 2 checkpoint, then serves gRPC until SIGTERM or
// SIGINT, which drain it: health goes NOT_SERVING, in-flight calls get
// --shutdown_grace to finish, the process exits 0.

#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "model/model_loader.h"
#include "server/grpc_server.h"

ABSL_FLAG(std::string, address, "0.0.0.0:50051",
          "gRPC listen address host:port (port 0 picks a free port).");
ABSL_FLAG(std::string, checkpoint, "",
          "Model weights: an official SAM 2 / 2.1 .pt checkpoint or a "
          ".safetensors file (required).");
ABSL_FLAG(std::string, config, "",
          "Model config in the official Hydra YAML schema; empty: detect the "
          "official variant from the checkpoint.");
ABSL_FLAG(int, max_receive_message_bytes, 32 << 20,
          "Largest request message accepted, in bytes.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long in-flight calls may run before they "
          "are cancelled.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "SAM 2 segmentation and tracking service.\n"
      "Usage: sam2_server --checkpoint=MODEL.pt [--config=MODEL.yaml] "
      "[--address=0.0.0.0:50051]");
  absl::ParseCommandLine(argc, argv);

  // Block the stop signals in every thread (gRPC's threads inherit this
  // mask) so that only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  if (checkpoint.empty()) {
    std::cerr << "sam2_server: --checkpoint is required (an official SAM 2 "
                 ".pt file or a .safetensors file)\n";
    return 2;
  }
  absl::Time load_start = absl::Now();
  absl::StatusOr<sam2::LoadedModel> model =
      sam2::LoadModel(checkpoint, absl::GetFlag(FLAGS_config));
  if (!model.ok()) {
    std::cerr << "sam2_server: cannot load the model: " << model.status()
              << "\n";
    return 1;
  }
  std::cerr << sam2::DescribeLoadedModel(*model) << "loaded in "
            << absl::FormatDuration(absl::Now() - load_start) << "\n";

  sam2::GrpcServerOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  options.max_receive_message_bytes =
      absl::GetFlag(FLAGS_max_receive_message_bytes);
  absl::StatusOr<std::unique_ptr<sam2::GrpcServer>> server =
      sam2::GrpcServer::Start(options);
  if (!server.ok()) {
    std::cerr << "sam2_server: " << server.status() << "\n";
    return 1;
  }
  // One line on stdout, flushed, that launchers and tests wait for.
  std::printf("sam2_server listening on port %d\n", (*server)->port());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cerr << "sam2_server: received "
            << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
            << ", draining\n";
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  std::cerr << "sam2_server: stopped\n";
  return 0;
}
