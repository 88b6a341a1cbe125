#include "model/device.h"

#include <ATen/autocast_mode.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstddef>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "model/torch_error.h"

#ifdef SAM2_WITH_CUDA
// The two CUDA runtime calls we need, declared here rather than through the
// toolkit's headers (the torch wheel's libcudart is linked in a CUDA build;
// its headers are not part of the build). cudaError_t is an int-sized enum;
// 0 is cudaSuccess.
extern "C" int cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
extern "C" int cudaDeviceGetAttribute(int* value, int attribute, int device);
#endif

namespace sam2 {
namespace {

#ifdef SAM2_WITH_CUDA
constexpr int kCudaDevAttrMultiProcessorCount = 16;
constexpr int kCudaDevAttrComputeCapabilityMajor = 75;
constexpr int kCudaDevAttrComputeCapabilityMinor = 76;

// A device attribute, or -1 when the runtime cannot say.
int CudaAttribute(c10::Device device, int attribute) {
  int value = 0;
  if (cudaDeviceGetAttribute(&value, attribute, device.index()) != 0) {
    return -1;
  }
  return value;
}
#endif

absl::StatusOr<c10::Device> ParseListedDevice(absl::string_view item,
                                              int cuda_device_count) {
  if (item == "cpu") return c10::Device(c10::kCPU);
  absl::string_view index_text = item;
  int index = 0;
  if (!absl::ConsumePrefix(&index_text, "cuda:") ||
      !absl::SimpleAtoi(index_text, &index) || index < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "device \"", item,
        "\": expected cpu, cuda, auto, or a list such as cuda:0,cuda:1"));
  }
  if (index >= cuda_device_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("device cuda:", index, " asked for, ", cuda_device_count,
                     " CUDA device", cuda_device_count == 1 ? "" : "s",
                     " visible"));
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::vector<c10::Device> AllCuda(int cuda_device_count) {
  std::vector<c10::Device> out;
  for (int i = 0; i < cuda_device_count; ++i) {
    out.emplace_back(c10::kCUDA, static_cast<c10::DeviceIndex>(i));
  }
  return out;
}

}  // namespace

int CudaDeviceCount() {
  try {
    return torch::cuda::is_available()
               ? static_cast<int>(torch::cuda::device_count())
               : 0;
  } catch (const c10::Error&) {
    return 0;  // a broken driver install: no usable GPU
  }
}

absl::StatusOr<std::vector<c10::Device>> ResolveDevices(absl::string_view spec,
                                                        int cuda_device_count) {
  spec = absl::StripAsciiWhitespace(spec);
  if (spec == "cpu") return std::vector<c10::Device>{c10::Device(c10::kCPU)};
  if (spec == "auto") {
    if (cuda_device_count == 0) {
      return std::vector<c10::Device>{c10::Device(c10::kCPU)};
    }
    return AllCuda(cuda_device_count);
  }
  if (spec == "cuda") {
    if (cuda_device_count == 0) {
      return absl::InvalidArgumentError(
          "device \"cuda\" asked for, but no CUDA device is visible (a CPU "
          "build, no NVIDIA driver, or CUDA_VISIBLE_DEVICES empty)");
    }
    return AllCuda(cuda_device_count);
  }
  std::vector<c10::Device> out;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    absl::StatusOr<c10::Device> d =
        ParseListedDevice(absl::StripAsciiWhitespace(item), cuda_device_count);
    if (!d.ok()) return d.status();
    if (std::find(out.begin(), out.end(), *d) != out.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("device ", DeviceName(*d), " named twice"));
    }
    out.push_back(*d);
  }
  return out;
}

std::string DeviceName(c10::Device device) { return device.str(); }

int CudaComputeCapabilityMajor(c10::Device device) {
  if (!device.is_cuda()) return 0;
#ifdef SAM2_WITH_CUDA
  return std::max(0,
                  CudaAttribute(device, kCudaDevAttrComputeCapabilityMajor));
#else
  return 0;
#endif
}

std::string DeviceKind(c10::Device device) {
  if (!device.is_cuda()) return "cpu";
#ifdef SAM2_WITH_CUDA
  const int major = CudaAttribute(device, kCudaDevAttrComputeCapabilityMajor);
  const int minor = CudaAttribute(device, kCudaDevAttrComputeCapabilityMinor);
  const int sms = CudaAttribute(device, kCudaDevAttrMultiProcessorCount);
  absl::StatusOr<DeviceMemory> memory = QueryDeviceMemory(device);
  if (major < 0 || minor < 0 || sms < 0 || !memory.ok()) return "cuda";
  return absl::StrCat("cuda sm_", major, ".", minor, ", ", sms, " SMs, ",
                      memory->total_bytes >> 30, " GiB");
#else
  return "cuda";
#endif
}

Precision ResolveDevicePrecision(PrecisionChoice choice, c10::Device device) {
  if (!device.is_cuda()) {
    return ResolvePrecision(choice, CpuHasBf16Instructions());
  }
  return ResolvePrecision(choice, CudaComputeCapabilityMajor(device) >= 8);
}

absl::StatusOr<DeviceMemory> QueryDeviceMemory(c10::Device device) {
  if (!device.is_cuda()) {
    return absl::UnimplementedError(
        absl::StrCat("no device memory query for ", DeviceName(device)));
  }
#ifdef SAM2_WITH_CUDA
  try {
    c10::DeviceGuard guard(device);
    size_t free_bytes = 0;
    size_t total_bytes = 0;
    if (int err = cudaMemGetInfo(&free_bytes, &total_bytes); err != 0) {
      return absl::InternalError(absl::StrCat(
          "cudaMemGetInfo on ", DeviceName(device), " failed: error ", err));
    }
    return DeviceMemory{static_cast<int64_t>(free_bytes),
                        static_cast<int64_t>(total_bytes)};
  } catch (const c10::Error& e) {
    return TorchError(absl::StrCat(DeviceName(device), ": "), e);
  }
#else
  return absl::UnimplementedError(
      "this build has no CUDA (bazel build --config=cuda)");
#endif
}

int64_t DeviceStateBudget(int64_t configured, const DeviceMemory& memory,
                          double fraction) {
  const double share = static_cast<double>(memory.free_bytes) *
                       std::clamp(fraction, 0.0, 1.0);
  return std::min(configured, static_cast<int64_t>(share));
}

at::Tensor ToDevice(const at::Tensor& t, c10::Device device) {
  if (!t.defined() || t.device() == device) return t;
  if (device.is_cuda() && t.is_cpu()) {
    // Pinned staging lets the copy run as one DMA; the stream orders it
    // before the kernels that read it, so non_blocking is safe.
    return t.pin_memory().to(device, /*non_blocking=*/true);
  }
  return t.to(device);
}

absl::Status SyncDevice(c10::Device device) {
  if (device.is_cpu()) return absl::OkStatus();
  try {
    c10::impl::getDeviceGuardImpl(device.type())
        ->synchronizeDevice(device.index());
  } catch (const c10::Error& e) {
    return TorchError(absl::StrCat("waiting for ", DeviceName(device), ": "),
                      e);
  }
  return absl::OkStatus();
}

void UseDeviceOnThisThread(c10::Device device, Precision precision) {
  if (!device.is_cuda()) {
    UseCpuPrecisionOnThisThread(precision);
    return;
  }
  c10::impl::getDeviceGuardImpl(c10::kCUDA)->setDevice(device);
  const bool bf16 = precision == Precision::kBFloat16;
  if (bf16) at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, bf16);
  const bool tf32 = bf16 && CudaComputeCapabilityMajor(device) >= 8;
  at::globalContext().setAllowTF32CuBLAS(tf32);
  at::globalContext().setAllowTF32CuDNN(tf32);
}

}  // namespace sam2
