/// \file A compiled kernel as the rest of convtune sees it: the entries of the kernel ABI as C
/// function pointers, with the ABI they follow, freed with the handle. Free of LLVM headers.
#pragma once

#include <cstdint>
#include <memory>

#include "ir/kernel_abi.h"

namespace convtune {

class HostJit;

/// `NAME(input, weights, output)`: allocates its workspace; returns kKernelOk or an error code.
using KernelFn = int (*)(const float* input, const float* weights, float* output);
/// `NAME_run(input, weights, output, workspace)`: the temporaries live in `workspace`.
using KernelRunFn = int (*)(const float* input, const float* weights, float* output, void* workspace);
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
  KernelFn function() const { return fn_; }
  KernelRunFn run_function() const { return run_fn_; }
  StageFn stage_function() const { return stage_fn_; }
  /// The allocating entry.
  int operator()(const float* in, const float* w, float* out) const { return fn_(in, w, out); }

private:
  friend class HostJit;
  struct Impl;
  JitKernel(std::unique_ptr<Impl> impl, KernelAbi abi, KernelFn fn, KernelRunFn run_fn, StageFn stage_fn);
  std::unique_ptr<Impl> impl_;
  KernelAbi abi_;
  KernelFn fn_ = nullptr;
  KernelRunFn run_fn_ = nullptr;
  StageFn stage_fn_ = nullptr;
};

} // namespace convtune
