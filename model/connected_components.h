// Connected components of binary masks computed with tensor operations on
// the masks' own device: the role of the reference's CUDA kernel
// (csrc/connected_components.cu behind `get_connected_components`,
// utils/misc.py), so that hole filling and sprinkle removal on a GPU need
// no round trip to the host. mask_postprocess uses it for masks that are
// not on the CPU; on the CPU, OpenCV's labelling is faster.
//
// Algorithm: FastSV (Zhang, Azad and Hu, "FastSV: A Distributed-Memory
// Connected Component Algorithm with Fast Convergence", 2020), a
// Shiloach-Vishkin variant built from gathers and scatter-minimums: every
// pixel starts as its own parent; each round hooks parents and pixels to
// their 8-neighbours' grandparents (minimum wins) and shortcuts; rounds end
// when no grandparent changes (10 to 16 rounds on 256 x 256 masks, even on
// a one-pixel-wide path through all of it; the device is waited for once
// every few rounds). Every pixel's root is then the smallest
// index in its component, so labels are numbered 1..K per image in raster
// order of each component's first pixel.
//
// Thread-safety: free functions without shared state.

#ifndef SAM2_MODEL_CONNECTED_COMPONENTS_H_
#define SAM2_MODEL_CONNECTED_COMPONENTS_H_

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace sam2 {

// Rounds after which TensorConnectedComponents gives up (INTERNAL): FastSV
// converges in O(log n) rounds on the shapes studied; this bound is far
// above any mask side the service accepts.
inline constexpr int kMaxComponentRounds = 1000;
// Rounds run between two convergence checks (each check waits for the
// device).
inline constexpr int kComponentRoundsPerCheck = 4;

struct ConnectedComponents {
  at::Tensor labels;  // int32 [N, 1, H, W]: > 0 on foreground, 0 elsewhere
  at::Tensor counts;  // int32 [N, 1, H, W]: component area, 0 on background
};

// 8-connected components of `mask` (a validated [N, 1, H, W] tensor,
// nonzero = foreground) on mask's device. `rounds`, when not null, receives
// the number of FastSV rounds run. May throw c10::Error (callers convert).
absl::StatusOr<ConnectedComponents> TensorConnectedComponents(
    const at::Tensor& mask, int* rounds = nullptr);

}  // namespace sam2

#endif  // SAM2_MODEL_CONNECTED_COMPONENTS_H_
