/// \file Compiling a loop nest for the host: a JIT'd function, assembly text, or an object file.
/// Free of LLVM headers, for the tools above the compiler.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compiler/lower_options.h"
#include "ir/ir.h"
#include "ir/kernel_abi.h"
#include "ir/workload.h"
#include "schedules/schedule.h"
#include "targets/jit_kernel.h"
#include "targets/target.h"

namespace convtune {

/// The front of the lowering pipeline (compiler/lower.cpp): the algorithm of `wl` that
/// `schedule` names, its steps replayed on the algorithm's main stage, and the scheduling pass
/// (no steps: the algorithm's naive nest). Each step logged, timed and dumped as the rest.
LoopNest scheduled_nest(const Workload& wl, const Schedule& schedule, const std::string& name = "conv",
                        const LowerOptions& options = {});
/// The same from replayed states on: the scheduling pass, bounds inference, storage, tail
/// guards and padding.
LoopNest scheduled_nest(const StageStates& states, const std::string& name = "conv", const LowerOptions& options = {});

/// Lowers `nest` and loads it into the host JIT; the code is freed with the returned kernel.
/// UserError for a GPU target (KernelRunner runs those through the CUDA driver).
std::unique_ptr<JitKernel> compile_jit(const LoopNest& nest, const Target& target,
                                       const LowerOptions& options = {});

/// The target assembly of the lowered nest (what `vectorize` emits can be read here).
std::string compile_assembly(const LoopNest& nest, const Target& target,
                             const LowerOptions& options = {});

/// What ahead-of-time compilation writes: an object file, its assembly, or its LLVM IR.
enum class EmitKind { Object, Assembly, LlvmIr };

/// A kernel compiled ahead of time: the file's bytes and the ABI of its entries (which the C
/// header is written from).
struct CompiledArtifact {
  std::string bytes;
  KernelAbi abi;
};

/// Lowers `nest` for `target`, which need not be able to run here (cross-compiling), and
/// emits it as `kind`. The object exports the entries ir/kernel_abi.h lists, named after the
/// nest, and calls only libconvtune_rt (convtune_parallel_for) and the C library.
CompiledArtifact compile_artifact(const LoopNest& nest, const Target& target, EmitKind kind,
                                  const LowerOptions& options = {});

/// A static library of objects (member name, bytes): a GNU archive with a symbol table.
std::string compile_library(const std::vector<std::pair<std::string, std::string>>& objects);

} // namespace convtune
