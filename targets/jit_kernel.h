/// \file A compiled kernel as the rest of convtune sees it: a C function pointer whose code is
/// freed with the handle. Free of LLVM headers.
#pragma once

#include <cstdint>
#include <memory>

namespace convtune {

class HostJit;

/// The C ABI every convolution kernel has: NCHW input, KCRS weights, NKPQ output.
using ConvKernelFn = void (*)(const float* input, const float* weights, float* output);
/// Runs one stage of a kernel alone over a table of buffers: input, weights, output, then the
/// nest's temporaries in order.
using StageFn = void (*)(int64_t stage, float* const* buffers);

/// A kernel living in the JIT; its machine code is freed when this object dies.
class JitKernel {
public:
  JitKernel(const JitKernel&) = delete;
  JitKernel& operator=(const JitKernel&) = delete;
  ~JitKernel();
  ConvKernelFn function() const { return fn_; }
  StageFn stage_function() const { return stage_fn_; }
  void operator()(const float* in, const float* w, float* out) const { fn_(in, w, out); }

private:
  friend class HostJit;
  struct Impl;
  JitKernel(std::unique_ptr<Impl> impl, ConvKernelFn fn, StageFn stage_fn);
  std::unique_ptr<Impl> impl_;
  ConvKernelFn fn_ = nullptr;
  StageFn stage_fn_ = nullptr;
};

} // namespace convtune
