/// \file A kernel compiled to PTX, loaded on the GPU: one CUDA function per stage of its ABI,
/// the device buffers of its parameters and of its workspace. Free of LLVM headers.
#pragma once

#include <string>
#include <vector>

#include "ir/kernel_abi.h"
#include "runtime/cuda_driver.h"

namespace convtune {

class CudaKernel {
public:
  /// Loads `ptx` (the kernels NAME_sI of ir/kernel_abi.h) and allocates the device buffers
  /// the ABI sizes. CudaError when the driver refuses the module or the memory.
  CudaKernel(const std::string& ptx, KernelAbi abi);

  const KernelAbi& abi() const { return abi_; }
  /// Copies a parameter between the host and its device buffer (as many floats as it has).
  void upload(size_t param, const float* host);
  void download(size_t param, float* host) const;
  /// Launches stage `stage` on the default stream; returns at once.
  void launch(size_t stage);
  /// Waits for every launch; a failed one (an illegal address) is a CudaError here.
  void synchronize() const;

private:
  KernelAbi abi_;
  CudaModule module_;
  std::vector<void*> functions_;
  std::vector<DeviceBuffer> params_;
  DeviceBuffer workspace_;
  std::vector<CUdeviceptr> table_;  ///< the stage table: parameters, then temporaries
};

} // namespace convtune
