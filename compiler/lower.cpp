/// \file The lowering pipeline, top to bottom: scheduled_nest (the description, the schedule's
/// replay, the scheduling pass, bounds inference, storage, tail guards, padding, blocked inputs) then lower
/// (verify, simplify, vectorize, unroll, codegen for the CPU or NVPTX, LLVM's O3). Each step is timed
/// (CONVTUNE_LOG_PASSES=1) and its IR dumped (CONVTUNE_DUMP_IR=1).
#include "compiler/lower.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <llvm/Support/raw_ostream.h>

#include "compiler/bounds_inference.h"
#include "compiler/codegen_cpu.h"
#include "compiler/codegen_nvptx.h"
#include "compiler/compile.h"
#include "compiler/input_layouts.h"
#include "compiler/padding.h"
#include "compiler/schedule_loops.h"
#include "compiler/simplify.h"
#include "compiler/storage.h"
#include "compiler/tail_guards.h"
#include "compiler/inline_lets.h"
#include "compiler/unroll_loops.h"
#include "compiler/vectorize_loops.h"
#include "ir/algorithms.h"
#include "ir/ir_printer.h"
#include "ir/verifier.h"
#include "targets/llvm_target.h"

namespace convtune {

namespace {

/// Times a step and, when asked, prints its time and the IR it produced.
class StepLog {
public:
  explicit StepLog(const LowerOptions& o)
      : dump_(o.dump_ir || std::getenv("CONVTUNE_DUMP_IR")),
        timings_(o.log_timings || std::getenv("CONVTUNE_LOG_PASSES")) {}

  template <class F> auto run(const char* step, F&& f) {
    auto start = std::chrono::steady_clock::now();
    auto result = f();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (timings_) std::fprintf(stderr, "[lower] %-10s %8.2f ms\n", step, ms);
    return result;
  }
  bool dumping() const { return dump_; }
  void dump(const char* step, const LoopNest& nest) const {
    if (dump_) std::cerr << "// ---- after " << step << "\n" << to_text(nest);
  }
  void dump(const char* step, const llvm::Module& module) const {
    if (!dump_) return;
    std::cerr << "; ---- after " << step << "\n";
    module.print(llvm::errs(), nullptr);
  }

private:
  bool dump_, timings_;
};

} // namespace

LoopNest scheduled_nest(const Workload& wl, const Schedule& schedule, const std::string& name,
                        const LowerOptions& options) {
  StepLog log(options);
  // 1. The algorithm as written: with no steps, its naive nest is the result.
  const Algorithm algorithm = schedule_algorithm(wl, schedule, options.layouts);
  if (schedule.steps.empty()) {
    LoopNest naive = log.run("algorithm", [&] { return naive_nest(algorithm, name); });
    log.dump("algorithm", naive);
    return read_inputs_blocked(naive, options.layouts);
  }
  if (log.dumping()) log.dump("algorithm", naive_nest(algorithm, name));
  // 2. Replay the steps on their stages; each primitive checks its preconditions.
  const StageStates states = log.run("schedule", [&] { return apply_schedule_stages(algorithm, schedule); });
  return scheduled_nest(states, name, options);
}

LoopNest scheduled_nest(const StageStates& states, const std::string& name, const LowerOptions& options) {
  StepLog log(options);
  // 3. The scheduled stages' loops, lets, register tiles, packed layouts and placed regions;
  //    the other stages whole around them. No guards yet: every temporary at its stage's extent.
  LoopNest nest = log.run("loops", [&] { return schedule_loops(states, name); });
  log.dump("loops", nest);

  // 4. Bounds inference: the box of each buffer every stage reads, split tails included.
  nest = log.run("bounds", [&] { return infer_bounds(nest); });
  log.dump("bounds", nest);

  // 5. Storage: temporaries grown to hold what their consumers' tails read.
  nest = log.run("storage", [&] { return size_storage(nest); });
  log.dump("storage", nest);

  // 6. Tail guards where an over-running split would touch what it must not.
  nest = log.run("tails", [&] { return guard_tails(nest); });
  log.dump("tails", nest);

  // 7. Padding: guards on the sides of the boundary tensor the reads can cross.
  nest = log.run("padding", [&] { return guard_padding(nest); });
  log.dump("padding", nest);

  // 8. Inputs a network keeps blocked: their loads re-indexed into the layout.
  if (options.layouts.input || options.layouts.residual) {
    nest = log.run("inputs", [&] { return read_inputs_blocked(nest, options.layouts); });
    log.dump("inputs", nest);
  }
  return nest;
}

LoweredModule lower(const LoopNest& input, const Target& target, llvm::TargetMachine& tm,
                    const LowerOptions& options) {
  StepLog log(options);

  // 1. The scheduled nest must be well formed before anything trusts it.
  log.run("verify", [&] { verify(input); return 0; });

  // 2. Fold the index arithmetic that splitting and binding leave behind.
  LoopNest nest = log.run("simplify", [&] { return simplify(input); });
  log.dump("simplify", nest);

  // 3. Vectorized loops into vector expressions (or unrolled lanes where they cannot widen).
  nest = log.run("vectorize", [&] { return vectorize_loops(nest); });
  log.dump("vectorize", nest);

  // 4. One copy per iteration of each unrolled loop, then fold what the copies made constant.
  nest = log.run("unroll", [&] { return simplify(unroll_loops(nest)); });
  log.dump("unroll", nest);

  // 5. Affine integer lets into the indices that use them, as terms codegen can distribute.
  nest = log.run("inline_lets", [&] { return inline_affine_lets(nest); });
  log.dump("inline_lets", nest);

  // 6. Emit LLVM IR.
  LoweredModule out;
  out.context = std::make_unique<llvm::LLVMContext>();
  out.function = nest.name;
  out.abi = kernel_abi(nest);
  out.module = log.run("codegen", [&] {
    return target.kind == TargetKind::Cuda ? codegen_nvptx(nest, out.abi, *out.context)
                                           : codegen_cpu(nest, out.abi, target.features, *out.context);
  });
  prepare_module(*out.module, tm);
  log.dump("codegen", *out.module);

  // 7. LLVM's O3 pipeline, tuned for this target's CPU or GPU architecture.
  log.run("optimize", [&] { optimize_module(*out.module, tm, options.llvm_vectorizers); return 0; });
  log.dump("optimize", *out.module);
  return out;
}

} // namespace convtune
