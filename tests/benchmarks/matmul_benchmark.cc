// How fast LibTorch multiplies matrices from C++ on this machine: an N×N
// float32 and bfloat16 product (default N = 4096), reported as GFLOP/s
// (2·N³ flops per product; the "GFLOP=x/s" column). A baseline for every model benchmark: it shows
// what the BLAS under LibTorch can do here, and whether bfloat16 is native
// (AVX-512 BF16 / AMX) or emulated.
//
//   bazel run //tests/benchmarks:matmul_benchmark -- [--benchmark_repetitions=5]

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>
#include <benchmark/benchmark.h>

#include <cstdio>

namespace {

void BM_Matmul(benchmark::State& state, at::ScalarType dtype) {
  const int64_t n = state.range(0);
  c10::InferenceMode guard;
  at::Tensor a = at::randn({n, n}).to(dtype);
  at::Tensor b = at::randn({n, n}).to(dtype);
  at::Tensor c = at::mm(a, b);  // warm-up: allocations, kernel selection
  for (auto _ : state) {
    c = at::mm(a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  const double flops = 2.0 * n * n * n;
  state.counters["GFLOP"] = benchmark::Counter(
      flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(c10::toString(dtype));
}

BENCHMARK_CAPTURE(BM_Matmul, float32, at::kFloat)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Matmul, bfloat16, at::kBFloat16)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  std::printf("LibTorch %s, %d intra-op threads\n%s\n", TORCH_VERSION,
              at::get_num_threads(), at::get_parallel_info().c_str());
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
