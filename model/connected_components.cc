// FastSV connected components on the tensors' device. See the header.

#include "model/connected_components.h"

#include <ATen/ATen.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace sam2 {

absl::StatusOr<ConnectedComponents> TensorConnectedComponents(
    const at::Tensor& mask, int* rounds) {
  const int64_t n = mask.size(0);
  const int64_t h = mask.size(2);
  const int64_t w = mask.size(3);
  const int64_t pixels = n * h * w;
  const at::Tensor fg = mask.ne(0).reshape({n, h, w});
  const at::Tensor index = at::arange(
      pixels, at::TensorOptions().dtype(at::kLong).device(mask.device()));
  const at::Tensor grid = index.view({n, h, w});

  // Edges between 8-neighbouring foreground pixels: right, down, and the
  // two diagonals below, each both ways; kept with one nonzero() over all
  // four directions (its one wait for the device).
  using at::indexing::Slice;
  const Slice all;
  const Slice head(0, -1);
  const Slice tail(1, at::indexing::None);
  struct Offset {
    Slice from_row, from_col, to_row, to_col;
  };
  const Offset offsets[] = {{all, head, all, tail},
                            {head, all, tail, all},
                            {head, head, tail, tail},
                            {head, tail, tail, head}};
  std::vector<at::Tensor> from;
  std::vector<at::Tensor> to;
  std::vector<at::Tensor> both;
  for (const Offset& o : offsets) {
    from.push_back(grid.index({all, o.from_row, o.from_col}).reshape(-1));
    to.push_back(grid.index({all, o.to_row, o.to_col}).reshape(-1));
    both.push_back(at::logical_and(fg.index({all, o.from_row, o.from_col}),
                                   fg.index({all, o.to_row, o.to_col}))
                       .reshape(-1));
  }
  const at::Tensor kept = at::cat(both).nonzero().view(-1);
  const at::Tensor ends_a = at::cat(from).index_select(0, kept);
  const at::Tensor ends_b = at::cat(to).index_select(0, kept);
  const at::Tensor u = at::cat({ends_a, ends_b});
  const at::Tensor v = at::cat({ends_b, ends_a});

  at::Tensor parent = index.clone();
  at::Tensor grandparent = parent.clone();
  int round = 0;
  for (;;) {
    if (round >= kMaxComponentRounds) {
      return absl::InternalError(absl::StrCat(
          "connected components did not converge in ", kMaxComponentRounds,
          " rounds"));
    }
    at::Tensor next;
    // Several rounds between checks: a check waits for the device, a round
    // past convergence changes nothing.
    for (int i = 0; i < kComponentRoundsPerCheck; ++i, ++round) {
      const at::Tensor neighbour_gp = grandparent.index_select(0, v);
      // Stochastic hooking: a pixel's parent adopts its neighbour's
      // grandparent when smaller (parents read before the round's writes).
      parent.scatter_reduce_(0, parent.index_select(0, u), neighbour_gp,
                             "amin");
      // Aggressive hooking: so does the pixel itself.
      parent.scatter_reduce_(0, u, neighbour_gp, "amin");
      // Shortcutting.
      parent = at::minimum(parent, grandparent);
      next = parent.index_select(0, parent);
      if (i + 1 < kComponentRoundsPerCheck) grandparent = next;
    }
    if (!at::equal(next, grandparent)) {
      grandparent = std::move(next);
      continue;
    }
    // Grandparents settled: flatten the trees to stars (every pixel
    // pointing at its root) and stop once every edge joins one root — the
    // check makes the result right by construction, not by the paper's
    // termination argument.
    while (!at::equal(next, parent)) {
      parent = next;
      next = parent.index_select(0, parent);
    }
    if (at::equal(parent.index_select(0, u), parent.index_select(0, v))) break;
    grandparent = parent.index_select(0, parent);
  }
  if (rounds != nullptr) *rounds = round;

  const at::Tensor flat_fg = fg.reshape({pixels});
  const at::Tensor is_root = at::logical_and(flat_fg, parent.eq(index));
  // Roots numbered 1..K in raster order within each image.
  const at::Tensor root_label =
      is_root.view({n, h * w}).cumsum(1, at::kInt).view({pixels});
  const at::Tensor area = at::zeros_like(index).scatter_add_(
      0, parent, flat_fg.to(at::kLong));
  const at::Tensor zero = at::zeros({}, root_label.options());
  ConnectedComponents out;
  out.labels = at::where(flat_fg, root_label.index_select(0, parent), zero)
                   .view({n, 1, h, w});
  out.counts = at::where(flat_fg, area.index_select(0, parent).to(at::kInt),
                         zero)
                   .view({n, 1, h, w});
  return out;
}

}  // namespace sam2
