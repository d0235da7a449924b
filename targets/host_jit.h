/// \file Running generated code on the host: ORC LLJIT, one resource tracker per kernel so a
/// long tuning session frees each candidate's code after measuring it.
#pragma once

#include <memory>
#include <string>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "targets/jit_kernel.h"
#include "targets/target.h"

namespace convtune {

/// One LLJIT for the process, targeting the host CPU with its full feature set.
class HostJit {
public:
  static HostJit& instance();
  /// Adds an already optimised module and returns the entries of the kernel `abi.name`.
  std::unique_ptr<JitKernel> add(std::unique_ptr<llvm::Module> module,
                                 std::unique_ptr<llvm::LLVMContext> context, KernelAbi abi);
  /// Resolves symbols of convtune's runtime (the thread pool) for generated code.
  void define_runtime_symbol(const std::string& name, void* address);

private:
  HostJit();
  struct State;
  std::unique_ptr<State> state_;
};

} // namespace convtune
