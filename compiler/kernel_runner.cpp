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

KernelRunner::KernelRunner(std::unique_ptr<CudaKernel> kernel, std::string algorithm)
    : gpu_(std::move(kernel)), algorithm_(std::move(algorithm)), table_(gpu_->abi().params.size(), nullptr) {}

std::unique_ptr<KernelRunner> KernelRunner::compile(const Workload& wl, const Schedule& schedule, const Target& target,
                                                    const LowerOptions& options) {
  const LoopNest nest = scheduled_nest(wl, schedule, "conv", options);
  if (target.kind == TargetKind::Cuda) {
    require_host_can_run(target);
    CompiledArtifact ptx = compile_artifact(nest, target, EmitKind::Assembly, options);
    return std::make_unique<KernelRunner>(std::make_unique<CudaKernel>(ptx.bytes, std::move(ptx.abi)), schedule.algorithm);
  }
  return std::make_unique<KernelRunner>(compile_jit(nest, target, options), schedule.algorithm);
}

void KernelRunner::bind(ConvProblem& problem) {
  for (size_t i = 0; i < abi().params.size(); ++i) {
    table_[i] = problem.tensor(abi().params[i].name).data();
    if (gpu_ && !abi().params[i].written) gpu_->upload(i, table_[i]);
  }
}

void KernelRunner::run() {
  if (gpu_) {
    // The read tensors went to the device at bind; a written one goes too, so that a kernel
    // leaving part of it unwritten shows in the check.
    for (size_t i = 0; i < abi().params.size(); ++i) {
      if (abi().params[i].written) gpu_->upload(i, table_[i]);
    }
    start_stages(std::nullopt);
    finish();
    return;
  }
  // The parameters lead the stage table, in the ABI's order, as NAME_call takes them.
  const int status = kernel_->call_function()(table_.data(), workspace_.data());
  internal_check(status == kKernelOk, "kernel " + abi().name + " returned " + std::to_string(status));
}

void KernelRunner::start_stage(size_t index) const {
  if (gpu_) gpu_->launch(index);
  else kernel_->stage_function()(int64_t(index), table_.data());
}

void KernelRunner::start_stages(std::optional<StageKind> kind) const {
  const std::vector<AbiStage>& stages = abi().stages;
  for (size_t i = 0; i < stages.size(); ++i) {
    if (!kind || stages[i].kind == *kind) start_stage(i);
  }
}

void KernelRunner::finish() {
  if (!gpu_) return;
  gpu_->synchronize();
  for (size_t i = 0; i < abi().params.size(); ++i) {
    if (abi().params[i].written) gpu_->download(i, table_[i]);
  }
}

TimingOptions with_gpu_events(TimingOptions options) {
  // Launches return at once: events on the GPU time a batch of them.
  options.batch_timer = [](const std::function<void()>& fn, int64_t calls) {
    return time_gpu_ms([&] {
      for (int64_t i = 0; i < calls; ++i) fn();
    });
  };
  return options;
}

void KernelRunner::run_stages(StageKind kind) const {
  start_stages(kind);
  if (gpu_) gpu_->synchronize();
}

Timing KernelRunner::time_started(const std::function<void()>& start, TimingOptions options) const {
  if (!gpu_) return measure(start, options);
  const Timing t = measure(start, with_gpu_events(std::move(options)));
  gpu_->synchronize();
  return t;
}

Timing KernelRunner::time(std::optional<StageKind> kind, TimingOptions options) {
  // On the host, the whole kernel is NAME_call (one call, not a call per stage).
  if (!gpu_ && !kind) return measure([&] { run(); }, options);
  return time_started([&] { start_stages(kind); }, std::move(options));
}

Timing KernelRunner::time_stage(size_t index, TimingOptions options) {
  internal_check(index < abi().stages.size(), "kernel " + abi().name + " has no stage " + std::to_string(index));
  return time_started([&] { start_stage(index); }, std::move(options));
}

Agreement KernelRunner::check(ConvProblem& problem) {
  bind(problem);
  return problem.check([&] { run(); }, algorithm_);
}

} // namespace convtune
