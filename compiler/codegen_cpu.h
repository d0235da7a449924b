/// \file Code generation for the host CPU: a loop nest into an LLVM module with the kernel ABI's
/// entries (ir/kernel_abi.h), parallel loops on convtune's thread pool.
#pragma once

#include <memory>
#include <string>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "ir/ir.h"
#include "ir/kernel_abi.h"

namespace convtune {

/// Builds a module holding the nest's entries, named after nest.name; `abi` is
/// kernel_abi(nest). `cpu_features` (an LLVM feature string) is what the entries check the
/// running CPU for on their first call. Assumes a verified nest. Throws UserError when the
/// nest uses what a CPU cannot run (GPU loops, GPU shared memory).
std::unique_ptr<llvm::Module> codegen_cpu(const LoopNest& nest, const KernelAbi& abi, const std::string& cpu_features,
                                          llvm::LLVMContext& context);

} // namespace convtune
