// make_layout_checkpoint VARIANT OUT: writes a checkpoint with exactly the
// tensor names and shapes of an official SAM 2 / 2.1 variant (e.g.
// sam2.1_hiera_tiny), all zeros in bfloat16, as safetensors. Test data for
// scripts/download_checkpoints.sh: the loader sniffs the format from the
// bytes, so `sam2 inspect` detects the file as VARIANT from its tensors as
// it would Meta's real .pt, without any network.

#include <iostream>
#include <string>

#include <ATen/ATen.h>

#include "absl/status/statusor.h"
#include "model/safetensors.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"
#include "model/state_dict_spec.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_layout_checkpoint VARIANT OUT\n";
    return 2;
  }
  absl::StatusOr<sam2::Sam2Config> config = sam2::PresetConfig(argv[1]);
  if (!config.ok()) {
    std::cerr << "make_layout_checkpoint: " << config.status() << "\n";
    return 2;
  }
  sam2::StateDict weights;
  for (const sam2::TensorSpec& spec : sam2::ExpectedTensors(*config)) {
    absl::Status added =
        weights.Add(spec.name, at::zeros(spec.shape, at::kBFloat16));
    if (!added.ok()) {
      std::cerr << "make_layout_checkpoint: " << added << "\n";
      return 1;
    }
  }
  absl::Status written = sam2::WriteSafetensors(weights, argv[2]);
  if (!written.ok()) {
    std::cerr << "make_layout_checkpoint: " << written << "\n";
    return 1;
  }
  return 0;
}
