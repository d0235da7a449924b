/// \file The runnable-candidate harness: compile a schedule, bind it to a layer's tensors,
/// check it against the reference, and run and time it whole or stage by stage, on the host
/// (a JIT kernel) or on a GPU (PTX kernels over device copies of the tensors). `run`, `bench`
/// and the tuning worker all go through it; its buffers and stages come from the kernel ABI.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "compiler/lower_options.h"
#include "ir/kernel_abi.h"
#include "runtime/conv_problem.h"
#include "runtime/cuda_kernel.h"
#include "runtime/measure.h"
#include "runtime/tensor.h"
#include "schedules/schedule.h"
#include "targets/jit_kernel.h"
#include "targets/target.h"

namespace convtune {

class KernelRunner {
public:
  /// Takes a compiled kernel; allocates its workspace once, as the ABI sizes it.
  explicit KernelRunner(std::unique_ptr<JitKernel> kernel, std::string algorithm = "");
  /// Takes a kernel loaded on the GPU, which holds its own device buffers.
  explicit KernelRunner(std::unique_ptr<CudaKernel> kernel, std::string algorithm = "");
  /// Lowers and JIT-compiles `schedule` for `wl` on `target` (UserError when it cannot run here).
  static std::unique_ptr<KernelRunner> compile(const Workload& wl, const Schedule& schedule, const Target& target,
                                               const LowerOptions& options = {});

  const KernelAbi& abi() const { return gpu_ ? gpu_->abi() : kernel_->abi(); }
  /// The schedule's algorithm, whose error model the result is held to (empty: the workload's own).
  const std::string& algorithm() const { return algorithm_; }

  /// Binds every parameter to the problem's tensor of the same name (on a GPU: copies the
  /// ones the kernel reads to the device).
  void bind(ConvProblem& problem);
  /// The whole kernel (NAME_call) over the held workspace: every stage, no allocation. On a
  /// GPU: over the copies bind made of the read tensors, the written ones copied to the device
  /// and back around every stage's kernel.
  void run();
  /// Runs every stage of this kind, in ABI order (nothing when there is none); on a GPU over
  /// the device's copies, waiting for the kernels.
  void run_stages(StageKind kind) const;
  /// Times the stages of `kind` (every stage when none), over the bound tensors (on a GPU:
  /// their device copies, by CUDA events around back-to-back launches).
  Timing time(std::optional<StageKind> kind, TimingOptions options);
  /// Runs the stages of `kind` (every stage when none); on a GPU launches them and returns at
  /// once (time them with with_gpu_events).
  void start_stages(std::optional<StageKind> kind) const;
  /// Times stage `index` of the ABI alone, over the bound tensors and the temporaries the
  /// stages before it left (run the whole kernel once first); on a GPU by CUDA events.
  Timing time_stage(size_t index, TimingOptions options);
  /// On a GPU, waits for the kernels and copies the written parameters back to the bound
  /// tensors; nothing on the host.
  void finish();
  bool has_stage(StageKind kind) const { return abi().has_stage(kind); }

  /// Binds to `problem`, runs the whole kernel once and compares with the reference, under
  /// the error model of the kernel's algorithm.
  Agreement check(ConvProblem& problem);

private:
  /// Runs stage `index`; on a GPU launches it and returns at once.
  void start_stage(size_t index) const;
  /// Times `start` (stages started; on a GPU by CUDA events, waiting for the kernels after).
  Timing time_started(const std::function<void()>& start, TimingOptions options) const;

  std::unique_ptr<JitKernel> kernel_;  ///< on the host; or
  std::unique_ptr<CudaKernel> gpu_;    ///< on a GPU
  std::string algorithm_;      ///< the schedule's algorithm (empty: the workload's own)
  Tensor workspace_;           ///< 64-byte aligned, workspace_bytes long
  std::vector<float*> table_;  ///< the stage table: parameters, then temporaries in the workspace (host)
};

/// `options` with each batch timed by CUDA events on the GPU, for functions that launch
/// kernels and return at once.
TimingOptions with_gpu_events(TimingOptions options);

} // namespace convtune
