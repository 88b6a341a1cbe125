// PositionEmbeddingSine and get_1d_sine_pe: the fixed sinusoidal position
// encodings of SAM 2.
//
// Mirrors `PositionEmbeddingSine` (sam2/modeling/position_encoding.py; only
// the dense `forward`/`_pe` path the image encoder and memory encoder use) and
// `get_1d_sine_pe` (sam2/modeling/sam2_utils.py). Same arithmetic in float32:
// rows and columns counted from 1, normalized by (last + 1e-6) in float32,
// then times `scale`; dim_t[i] = temperature ^ (2 * floor(i / 2) / F) with a
// scalar base; channels = [y half, x half], each half interleaving
// sin (even channels) and cos (odd channels).
//
// Like the reference's, encodings are cached per size (here also per device
// and dtype, at most kMaxCachedEncodings of them): they are constants, and
// computing them was ~120 ms of a 1.1 s tracked frame at 1024x1024 (the
// 256x256 level alone is 16M values, its transpose into NCHW 67 ms). A batch
// of B is the cached [1, C, H, W] expanded (no copy), where the reference
// repeats it. Deliberate differences: no CUDA warm-up;
// `encode_boxes`/`encode_points` are not ported (SAM 2's predictors never
// call them).
//
// Thread-safety: Forward()/Encode() may be called concurrently (the cache
// has its own mutex; cached tensors are never written). Nothing throws from
// Forward(): LibTorch errors become INTERNAL statuses.

#ifndef SAM2_MODEL_POSITION_ENCODING_H_
#define SAM2_MODEL_POSITION_ENCODING_H_

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <tuple>

#include "absl/status/statusor.h"
#include "model/constant_cache.h"
#include "model/sam2_config.h"

namespace sam2 {

// Encodings kept per model (several sizes: the FPN levels, the memory).
inline constexpr int kMaxCachedEncodings = 16;

class PositionEmbeddingSine {
 public:
  // INVALID_ARGUMENT when num_pos_feats is not a positive even number, or a
  // scale is given without normalize (the reference's asserts).
  static absl::StatusOr<PositionEmbeddingSine> Create(
      const PositionEmbeddingSineConfig& config);

  // The encoding for feature map `x` [B, C, H, W] (only its batch, size and
  // device are used): [B, num_pos_feats, H, W] float32.
  absl::StatusOr<at::Tensor> Forward(const at::Tensor& x) const;

  // The same for an explicit batch, size, device and dtype (the float32
  // encoding converted, as the reference's callers do): [B, C, H, W],
  // contiguous for B = 1, the cached tensor expanded for B > 1; never write
  // into it. Throws c10::Error on failure; for callers that already run
  // inside their own try block.
  at::Tensor Encode(int64_t batch, int64_t height, int64_t width,
                    c10::Device device,
                    at::ScalarType dtype = at::kFloat) const;

  int num_pos_feats() const { return 2 * half_; }

 private:
  PositionEmbeddingSine(int half, double temperature, bool normalize,
                        double scale)
      : half_(half),
        temperature_(temperature),
        normalize_(normalize),
        scale_(scale),
        cache_(kMaxCachedEncodings) {}

  // [1, C, H, W] float32, computed.
  at::Tensor Compute(int64_t height, int64_t width, c10::Device device) const;


  int half_;  // F = num_pos_feats / 2
  double temperature_;
  bool normalize_;
  double scale_;
  // (height, width, device type, device index, dtype) -> [1, C, H, W].
  ConstantCache<std::tuple<int64_t, int64_t, int, int, int>> cache_;
};

// get_1d_sine_pe: for positions `pos_inds` [...] (float) returns
// [..., dim] = [sin(pos / dim_t), cos(pos / dim_t)] with dim_t[i] =
// temperature ^ (2 * floor(i / 2) / (dim / 2)), i < dim / 2. INVALID_ARGUMENT
// for an odd or non-positive dim.
absl::StatusOr<at::Tensor> Get1dSinePe(const at::Tensor& pos_inds, int64_t dim,
                                       double temperature = 10000.0);

}  // namespace sam2

#endif  // SAM2_MODEL_POSITION_ENCODING_H_
