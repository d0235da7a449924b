/// \file A compiled kernel as the rest of convtune sees it: a C function pointer whose code is
/// freed with the handle. Free of LLVM headers.
#pragma once

#include <memory>

namespace convtune {

class HostJit;

/// The C ABI every convolution kernel has: NCHW input, KCRS weights, NKPQ output.
using ConvKernelFn = void (*)(const float* input, const float* weights, float* output);

/// A kernel living in the JIT; its machine code is freed when this object dies.
class JitKernel {
public:
  JitKernel(const JitKernel&) = delete;
  JitKernel& operator=(const JitKernel&) = delete;
  ~JitKernel();
  ConvKernelFn function() const { return fn_; }
  void operator()(const float* in, const float* w, float* out) const { fn_(in, w, out); }

private:
  friend class HostJit;
  struct Impl;
  JitKernel(std::unique_ptr<Impl> impl, ConvKernelFn fn);
  std::unique_ptr<Impl> impl_;
  ConvKernelFn fn_ = nullptr;
};

} // namespace convtune
