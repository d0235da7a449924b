/// \file The runnable-candidate harness over a compiled kernel's ABI.
#include "compiler/kernel_runner.h"

#include "compiler/compile.h"
#include "ir/error.h"

namespace convtune {

KernelRunner::KernelRunner(std::unique_ptr<JitKernel> kernel, std::string algorithm)
    : kernel_(std::move(kernel)), algorithm_(std::move(algorithm)), workspace_(kernel_->abi().workspace_bytes / int64_t(sizeof(float))) {
  const KernelAbi& abi = kernel_->abi();
  table_.assign(abi.params.size(), nullptr);
  char* base = reinterpret_cast<char*>(workspace_.data());
  for (const AbiTemporary& t : abi.temporaries) table_.push_back(reinterpret_cast<float*>(base + t.offset_bytes));
}

std::unique_ptr<KernelRunner> KernelRunner::compile(const Workload& wl, const Schedule& schedule, const Target& target,
                                                    const LowerOptions& options) {
  return std::make_unique<KernelRunner>(compile_jit(scheduled_nest(wl, schedule, "conv", options), target, options),
                                        schedule.algorithm);
}

void KernelRunner::bind(ConvProblem& problem) {
  for (size_t i = 0; i < abi().params.size(); ++i) table_[i] = problem.tensor(abi().params[i].name).data();
}

void KernelRunner::run() {
  // The parameters lead the stage table, in the ABI's order, as NAME_call takes them.
  const int status = kernel_->call_function()(table_.data(), workspace_.data());
  internal_check(status == kKernelOk, "kernel " + abi().name + " returned " + std::to_string(status));
}

void KernelRunner::run_stages(StageKind kind) const {
  const std::vector<AbiStage>& stages = abi().stages;
  for (size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].kind == kind) kernel_->stage_function()(int64_t(i), table_.data());
  }
}

Agreement KernelRunner::check(ConvProblem& problem) {
  bind(problem);
  return problem.check([&] { run(); }, algorithm_);
}

} // namespace convtune
