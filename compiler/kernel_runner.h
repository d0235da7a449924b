/// \file A compiled nest bound to its buffers: the whole kernel, or its stages one by one, so
/// layout transforms can be timed apart from the compute stage.
#pragma once

#include <memory>
#include <vector>

#include "ir/ir.h"
#include "runtime/tensor.h"
#include "targets/jit_kernel.h"

namespace convtune {

class KernelRunner {
public:
  /// Allocates the nest's temporaries; `kernel` must be `nest` compiled.
  KernelRunner(const LoopNest& nest, std::unique_ptr<JitKernel> kernel);

  /// Binds the tensors the stage functions use.
  void bind(const float* input, const float* weights, float* output);
  /// Runs every stage of this kind, in nest order (nothing when there is none).
  void run_stages(StageKind kind) const;
  bool has_stage(StageKind kind) const;

private:
  std::vector<StageKind> stages_;  ///< the kind of each stage, in nest order
  std::unique_ptr<JitKernel> kernel_;
  std::vector<Tensor> temporaries_;
  std::vector<float*> table_;
};

} // namespace convtune
