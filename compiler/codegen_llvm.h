/// \file Codegen: a loop nest into LLVM functions with the kernel ABI of ir/kernel_abi.h.
///
/// The parameters are noalias, tensors dense row-major in the nest's buffer shapes. Integer math is
/// 64-bit; Div and Mod round towards negative infinity (cheap signed ops where the operands
/// are known non-negative). Unrolled loops are emitted once per iteration. Floating-point
/// adds and multiplies may be reassociated and contracted into FMAs: any summation order is
/// within the reference check's error bound.
#pragma once

#include <memory>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "ir/ir.h"
#include "ir/kernel_abi.h"
#include "targets/target.h"

namespace convtune {

/// Builds a module holding the nest's function, named nest.name. Assumes a verified nest.
/// Throws UserError when the nest uses what `target` cannot run (GPU loops on a CPU).
/// `abi` is kernel_abi(nest).
std::unique_ptr<llvm::Module> codegen_llvm(const LoopNest& nest, const KernelAbi& abi, const Target& target,
                                           llvm::LLVMContext& context);

} // namespace convtune
