/// \file A compiled kernel as the rest of convtune sees it: the entries of the kernel ABI as C
/// function pointers, with the ABI they follow, freed with the handle. Free of LLVM headers.
#pragma once

#include <cstdint>
#include <memory>

#include "ir/kernel_abi.h"

namespace convtune {

class HostJit;

/// `NAME(input, weights, output)` of a plain convolution: allocates its workspace; returns
/// kKernelOk or an error code. (Kernels with other parameters export `NAME(params...)`.)
using ConvKernelFn = int (*)(const float* input, const float* weights, float* output);
/// `NAME_call(params, workspace)`: NAME_run with the parameters as a table in the ABI's order;
/// a null workspace is allocated for the call.
using KernelCallFn = int (*)(float* const* params, void* workspace);
/// `NAME_stage(stage, buffers)`: one stage alone over a table of buffers: the parameters,
/// then the temporaries, in the ABI's order.
using StageFn = void (*)(int64_t stage, float* const* buffers);

/// A kernel living in the JIT; its machine code is freed when this object dies.
class JitKernel {
public:
  JitKernel(const JitKernel&) = delete;
  JitKernel& operator=(const JitKernel&) = delete;
  ~JitKernel();
  const KernelAbi& abi() const { return abi_; }
  KernelCallFn call_function() const { return call_fn_; }
  StageFn stage_function() const { return stage_fn_; }
  /// The allocating entry of a plain convolution (input, weights, output).
  int operator()(const float* in, const float* w, float* out) const;

private:
  friend class HostJit;
  struct Impl;
  JitKernel(std::unique_ptr<Impl> impl, KernelAbi abi, void* entry, KernelCallFn call_fn, StageFn stage_fn);
  std::unique_ptr<Impl> impl_;
  KernelAbi abi_;
  void* entry_ = nullptr;
  KernelCallFn call_fn_ = nullptr;
  StageFn stage_fn_ = nullptr;
};

} // namespace convtune
