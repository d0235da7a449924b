/// \file The NVIDIA GPU half of code generation: each stage of a nest becomes a PTX kernel.
#pragma once

#include <memory>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "ir/ir.h"
#include "ir/kernel_abi.h"

namespace convtune {

/// Builds a module for the NVPTX back end: for each stage I of the nest a kernel `NAME_sI`
/// (the PTX kernel calling convention and its nvvm.annotations entry, with the block's size
/// as `maxntid` so that ptxas budgets registers for it) taking one pointer per entry of the
/// buffer table (parameters, then temporaries). Loops bound to blockIdx/threadIdx read the
/// NVPTX special registers, shared buffers are globals of address space 3, barriers are
/// `barrier.sync 0`. `abi` is kernel_abi(nest), whose stages hold the launches. Throws
/// UserError when the nest uses what a GPU kernel cannot (a CPU-parallel loop, a heap buffer
/// inside a kernel, a barrier that only some threads of a block would reach).
std::unique_ptr<llvm::Module> codegen_nvptx(const LoopNest& nest, const KernelAbi& abi, llvm::LLVMContext& context);

} // namespace convtune
