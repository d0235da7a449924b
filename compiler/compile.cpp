/// \file The three ways out of the compiler, each a lowering plus one emission step.
#include "compiler/compile.h"

#include "compiler/lower.h"

#include <llvm/Support/raw_ostream.h>

#include "targets/host_jit.h"
#include "targets/llvm_target.h"

namespace convtune {

std::unique_ptr<JitKernel> compile_jit(const LoopNest& nest, const Target& target,
                                       const LowerOptions& options) {
  if (target.kind == TargetKind::Cuda) {
    throw UserError("target '" + target.name + "' is a GPU: its kernels run through the CUDA driver (run, bench, tune), "
                    "not the host's JIT; whole networks run on the CPU so far");
  }
  require_host_can_run(target);
  auto tm = make_target_machine(target);
  LoweredModule lowered = lower(nest, target, *tm, options);
  return HostJit::instance().add(std::move(lowered.module), std::move(lowered.context), std::move(lowered.abi));
}

std::string compile_assembly(const LoopNest& nest, const Target& target, const LowerOptions& options) {
  auto tm = make_target_machine(target);
  LoweredModule lowered = lower(nest, target, *tm, options);
  return emit_assembly(*lowered.module, *tm);
}

CompiledArtifact compile_artifact(const LoopNest& nest, const Target& target, EmitKind kind, const LowerOptions& options) {
  auto tm = make_target_machine(target);
  LoweredModule lowered = lower(nest, target, *tm, options);
  CompiledArtifact out;
  out.abi = std::move(lowered.abi);
  switch (kind) {
  case EmitKind::Object: out.bytes = emit_object(*lowered.module, *tm); break;
  case EmitKind::Assembly: out.bytes = emit_assembly(*lowered.module, *tm); break;
  case EmitKind::LlvmIr: {
    llvm::raw_string_ostream os(out.bytes);
    lowered.module->print(os, nullptr);
    break;
  }
  }
  return out;
}

std::string compile_library(const std::vector<std::pair<std::string, std::string>>& objects) { return static_library(objects); }

} // namespace convtune
