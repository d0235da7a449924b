/// \file The runnable-candidate harness: compile a schedule, bind it to a layer's tensors,
/// check it against the reference, and run it whole or stage by stage. `run`, `bench` and the
/// tuning worker all go through it; its buffers and stages come from the kernel ABI.
#pragma once

#include <memory>
#include <vector>

#include "compiler/lower_options.h"
#include "ir/kernel_abi.h"
#include "runtime/conv_problem.h"
#include "runtime/tensor.h"
#include "schedules/schedule.h"
#include "targets/jit_kernel.h"
#include "targets/target.h"

namespace convtune {

class KernelRunner {
public:
  /// Takes a compiled kernel; allocates its workspace once, as the ABI sizes it.
  explicit KernelRunner(std::unique_ptr<JitKernel> kernel, std::string algorithm = "");
  /// Lowers and JIT-compiles `schedule` for `wl` on `target` (UserError when it cannot run here).
  static std::unique_ptr<KernelRunner> compile(const Workload& wl, const Schedule& schedule, const Target& target,
                                               const LowerOptions& options = {});

  const KernelAbi& abi() const { return kernel_->abi(); }
  /// The schedule's algorithm, whose error model the result is held to (empty: the workload's own).
  const std::string& algorithm() const { return algorithm_; }

  /// Binds every parameter to the problem's tensor of the same name.
  void bind(ConvProblem& problem);
  /// The whole kernel (NAME_call) over the held workspace: every stage, no allocation.
  void run();
  /// Runs every stage of this kind, in ABI order (nothing when there is none).
  void run_stages(StageKind kind) const;
  bool has_stage(StageKind kind) const { return abi().has_stage(kind); }

  /// Binds to `problem`, runs the whole kernel once and compares with the reference, under
  /// the error model of the kernel's algorithm.
  Agreement check(ConvProblem& problem);

private:
  std::unique_ptr<JitKernel> kernel_;
  std::string algorithm_;      ///< the schedule's algorithm (empty: the workload's own)
  Tensor workspace_;           ///< 64-byte aligned, workspace_bytes long
  std::vector<float*> table_;  ///< the stage table: parameters, then temporaries in the workspace
};

} // namespace convtune
