/// \file Compiling a loop nest for the host: a JIT'd function, assembly text, or an object file.
/// Free of LLVM headers, for the tools above the compiler.
#pragma once

#include <memory>
#include <string>

#include "compiler/lower_options.h"
#include "ir/ir.h"
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

/// Lowers `nest` and loads it into the host JIT; the code is freed with the returned kernel.
std::unique_ptr<JitKernel> compile_jit(const LoopNest& nest, const Target& target,
                                       const LowerOptions& options = {});

/// The target assembly of the lowered nest (what `vectorize` emits can be read here).
std::string compile_assembly(const LoopNest& nest, const Target& target,
                             const LowerOptions& options = {});

/// Writes a relocatable object file exporting `void NAME(const float*, const float*, float*)`.
void compile_object(const LoopNest& nest, const Target& target, const std::string& path,
                    const LowerOptions& options = {});

} // namespace convtune
