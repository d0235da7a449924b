/// \file Compiling a loop nest for the host: a JIT'd function, assembly text, or an object file.
/// Free of LLVM headers, for the tools above the compiler.
#pragma once

#include <memory>
#include <string>

#include "compiler/lower_options.h"
#include "ir/ir.h"
#include "targets/jit_kernel.h"
#include "targets/target.h"

namespace convtune {

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
