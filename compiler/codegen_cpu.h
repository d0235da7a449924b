/// \file Code generation for the host CPU: a loop nest into an LLVM module with the kernel ABI's
/// entries (ir/kernel_abi.h), parallel loops on convtune's thread pool.
#pragma once

#include <memory>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "ir/ir.h"
#include "ir/kernel_abi.h"

namespace convtune {

/// Builds a module holding the nest's entries, named after nest.name; `abi` is
/// kernel_abi(nest). Assumes a verified nest. Throws UserError when the nest uses what a CPU
/// cannot run (GPU loops, GPU shared memory).
std::unique_ptr<llvm::Module> codegen_cpu(const LoopNest& nest, const KernelAbi& abi, llvm::LLVMContext& context);

} // namespace convtune
