// Devices the model runs on: parsing the --device choice, what this process
// can see, device memory, moving host tensors onto a device, and the
// per-thread settings a worker applies for its device.
//
// CUDA is reached through LibTorch's device-generic interfaces (its CUDA
// hooks and device guards), so this file builds and answers in a CPU-only
// build too: there, and on a machine without an NVIDIA driver, no CUDA
// device is visible and "cuda" is refused with the reason. Device memory
// and compute capability come from the CUDA runtime, linked only in a
// `--config=cuda` build (SAM2_WITH_CUDA).
//
// The reference's CUDA settings: sam2's notebooks and tools run the model
// under torch.autocast("cuda", bfloat16) and turn TF32 matmuls on for compute
// capability 8.0 and later. UseDeviceOnThisThread applies both when the
// precision is bfloat16; --precision=float32 keeps strict float32 (TF32 off)
// so the golden parity holds on a GPU as on the CPU.
//
// Thread-safety: the queries are thread-safe; UseDeviceOnThisThread touches
// the calling thread's state (and LibTorch's global TF32 switch, which every
// worker sets to the same value).

#ifndef SAM2_MODEL_DEVICE_H_
#define SAM2_MODEL_DEVICE_H_

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/Device.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/precision.h"

namespace sam2 {

// CUDA devices this process can use (0 in a CPU build, or without a
// driver, or with CUDA_VISIBLE_DEVICES empty).
int CudaDeviceCount();

// The devices a --device value names:
//   "cpu"                  the CPU
//   "cuda"                 every visible GPU
//   "cuda:0,cuda:2"        those devices (a comma-separated list, which
//                          may name "cpu" too: a CPU worker beside GPUs)
//   "auto"                 every visible GPU, or the CPU when there is none
// INVALID_ARGUMENT for anything else, a duplicate, or a GPU index that is
// not visible (naming how many are: "cuda:3 asked for, 1 CUDA device
// visible"); "cuda" with no GPU visible says so. `cuda_device_count` is
// CudaDeviceCount() in production, a fixed number in tests.
absl::StatusOr<std::vector<c10::Device>> ResolveDevices(absl::string_view spec,
                                                        int cuda_device_count);

// "cpu", "cuda:0".
std::string DeviceName(c10::Device device);

// The major compute capability of a CUDA device (8 for Ampere, 9 for
// Hopper); 0 for the CPU, in a CPU-only build, or when the runtime cannot
// say.
int CudaComputeCapabilityMajor(c10::Device device);

// What kind of device `device` is, to tell apart workers that may run at
// different speeds: "cpu", or for a GPU its compute capability,
// multiprocessor count and memory ("cuda sm_9.0, 132 SMs, 139 GiB"), the
// same for two GPUs of one model; "cuda" alone when the runtime cannot say
// (a CPU-only build).
std::string DeviceKind(c10::Device device);

// The precision a device runs at for a --precision choice: on the CPU as
// ResolvePrecision with the CPU's bf16 instructions; on a GPU, auto is
// bfloat16 from compute capability 8 (native bf16 tensor cores; the
// reference's autocast) and float32 below it.
Precision ResolveDevicePrecision(PrecisionChoice choice, c10::Device device);

struct DeviceMemory {
  int64_t free_bytes = 0;
  int64_t total_bytes = 0;
};

// Free and total memory of a CUDA device as the driver reports them.
// UNIMPLEMENTED for the CPU (its memory is the session budget's business)
// and in a CPU-only build.
absl::StatusOr<DeviceMemory> QueryDeviceMemory(c10::Device device);

// The bytes per-request state (sessions' embeddings and tracking memory)
// may hold on a device: `configured`, but no more than `fraction` of what
// is free once the weights are loaded (the rest is the forward passes'
// working memory and the allocator's slack).
int64_t DeviceStateBudget(int64_t configured, const DeviceMemory& memory,
                          double fraction);

// The host tensor `t` on `device`: itself when already there; for a CUDA
// device copied through pinned memory (one DMA, no pageable bounce).
at::Tensor ToDevice(const at::Tensor& t, c10::Device device);

// Waits until the device has finished the work queued so far, so a timer
// read after it measures the work, not its launch (a no-op on the CPU). An
// error the device reports (a failed kernel) comes back as a Status.
absl::Status SyncDevice(c10::Device device);

// Makes `device` the calling thread's current device and applies the
// precision there (CPU: UseCpuPrecisionOnThisThread; CUDA: bfloat16
// autocast on the CUDA device type, TF32 for matmuls and cuDNN on compute
// capability >= 8 unless the precision is float32).
void UseDeviceOnThisThread(c10::Device device, Precision precision);

}  // namespace sam2

#endif  // SAM2_MODEL_DEVICE_H_
