/// \file The lowering pipeline: a scheduled loop nest to an optimised LLVM module.
#pragma once

#include <memory>
#include <string>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include "compiler/lower_options.h"
#include "ir/kernel_abi.h"
#include "ir/ir.h"
#include "targets/target.h"

namespace convtune {

struct LoweredModule {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
  std::string function;  ///< the kernel's symbol
  KernelAbi abi;         ///< what the kernel's entries take and need
};

/// Runs every step from the scheduled nest to an O3-optimised module for `tm`.
LoweredModule lower(const LoopNest& nest, const Target& target, llvm::TargetMachine& tm,
                    const LowerOptions& options = {});

} // namespace convtune
