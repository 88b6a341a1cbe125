// COCO run-length encoding of binary masks, shared by the automatic mask
// generator and the service's mask responses.
//
// Mirrors, in the reference (facebookresearch/sam2, sam2/utils/amg.py):
//   - `mask_to_rle_pytorch`: uncompressed RLE of a batch of masks, runs over
//     the column-major (Fortran order) pixels, starting with a run of zeros
//     (a leading 0 when the first pixel is set), size [h, w];
//   - `rle_to_mask`, `area_from_rle` (sum of the odd-indexed counts);
//   - `coco_encode_rle`, which hands the counts to pycocotools
//     (`frPyObjects`): here the compressed `counts` string is produced
//     ourselves, byte for byte what pycocotools' rleToString writes (each
//     count from index 3 on stored as the difference to the count two
//     before it, written as signed 5-bit groups, 0x20 marking that another
//     group follows, each group offset by 48), and read back (rleFrString);
//   - pycocotools' `toBbox`: [x, y, w, h] with exclusive extents (w = last
//     column - first column + 1), all zeros for an empty mask. NOTE: the
//     generator's records use inclusive boxes instead (amg_utils.h).
// Deliberate differences: malformed input (counts that do not add up to
// h*w, negative counts, bad characters in a counts string) is an
// INVALID_ARGUMENT status rather than undefined behaviour.
//
// Thread-safety: free functions without shared state.

#ifndef SAM2_MODEL_RLE_H_
#define SAM2_MODEL_RLE_H_

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// Largest mask side handled (the image limit of DESIGN.md).
inline constexpr int64_t kMaxRleSide = 8192;

// An uncompressed COCO RLE: alternating run lengths of 0s and 1s over the
// column-major pixels, the first run being 0s.
struct Rle {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<int64_t> counts;

  bool operator==(const Rle& other) const {
    return height == other.height && width == other.width &&
           counts == other.counts;
  }
};

// mask_to_rle_pytorch: `masks` bool/uint8 [B, H, W] (nonzero = set), any
// device. One RLE per mask.
absl::StatusOr<std::vector<Rle>> MasksToRle(const at::Tensor& masks);
// One [H, W] mask.
absl::StatusOr<Rle> MaskToRle(const at::Tensor& mask);

// rle_to_mask: bool [H, W] on the CPU. INVALID_ARGUMENT if the counts are
// negative or do not cover exactly H*W pixels.
absl::StatusOr<at::Tensor> RleToMask(const Rle& rle);

// area_from_rle: number of set pixels.
int64_t RleArea(const Rle& rle);

// pycocotools toBbox: [x, y, w, h], exclusive extents; zeros when empty.
std::array<double, 4> RleToBbox(const Rle& rle);

// pycocotools rleToString: the compressed `counts` string.
std::string EncodeCocoCounts(const Rle& rle);

// pycocotools rleFrString for a mask of height x width; INVALID_ARGUMENT for
// characters outside the alphabet, truncated groups, or counts that do not
// cover height*width pixels.
absl::StatusOr<Rle> DecodeCocoCounts(absl::string_view counts, int64_t height,
                                     int64_t width);

}  // namespace sam2

#endif  // SAM2_MODEL_RLE_H_
