/// \file Running a compiled nest's stages over a table of buffers.
#include "compiler/kernel_runner.h"

#include <algorithm>

namespace convtune {

KernelRunner::KernelRunner(const LoopNest& nest, std::unique_ptr<JitKernel> kernel)
    : kernel_(std::move(kernel)) {
  for (const NestStage& s : nest.stages) stages_.push_back(s.kind);
  table_.assign(3, nullptr);
  for (const BufferRef& t : nest.temporaries) {
    temporaries_.emplace_back(t->elements());
    table_.push_back(temporaries_.back().data());
  }
}

void KernelRunner::bind(const float* input, const float* weights, float* output) {
  // The stage functions take non-const pointers; the input and weights are only read.
  table_[0] = const_cast<float*>(input);
  table_[1] = const_cast<float*>(weights);
  table_[2] = output;
}

void KernelRunner::run_stages(StageKind kind) const {
  for (size_t i = 0; i < stages_.size(); ++i) {
    if (stages_[i] == kind) kernel_->stage_function()(int64_t(i), table_.data());
  }
}

bool KernelRunner::has_stage(StageKind kind) const {
  return std::find(stages_.begin(), stages_.end(), kind) != stages_.end();
}

} // namespace convtune
