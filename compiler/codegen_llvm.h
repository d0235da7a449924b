/// \file Codegen: a loop nest into an LLVM function with the kernel C ABI.
///
/// Emits `void NAME(const float* input, const float* weights, float* output)`, the three
/// pointers noalias, tensors dense row-major in the nest's buffer shapes. Integer math is
/// 64-bit; Div and Mod round towards negative infinity (cheap signed ops where the operands
/// are known non-negative). Unrolled loops are emitted once per iteration. Floating-point
/// adds and multiplies may be reassociated and contracted into FMAs: any summation order is
/// within the reference check's error bound.
#pragma once

#include <memory>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "ir/ir.h"
#include "targets/target.h"

namespace convtune {

/// Builds a module holding the nest's function, named nest.name. Assumes a verified nest.
/// Throws UserError when the nest uses what `target` cannot run (GPU loops on a CPU).
std::unique_ptr<llvm::Module> codegen_llvm(const LoopNest& nest, const Target& target,
                                           llvm::LLVMContext& context);

} // namespace convtune
