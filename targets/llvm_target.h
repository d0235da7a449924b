/// \file A target's LLVM side: its TargetMachine, the O3 pipeline, and emission of assembly
/// or object code. Only compiler/ and targets/ include this header (it pulls in LLVM).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include "targets/target.h"

namespace convtune {

/// Registers the LLVM back ends convtune uses (the host's and NVPTX). Idempotent.
void initialize_llvm_targets();

/// A TargetMachine for `target` at -O3, with its CPU and features.
std::unique_ptr<llvm::TargetMachine> make_target_machine(const Target& target);

/// Stamps the target's triple and data layout on `module` and its CPU and features on every
/// function, so the optimiser's cost model sees the real machine.
void prepare_module(llvm::Module& module, const llvm::TargetMachine& tm);

/// Runs LLVM's O3 module pipeline, built with the target machine; `llvm_vectorizers` false
/// leaves LLVM's loop and SLP vectorizers out.
void optimize_module(llvm::Module& module, llvm::TargetMachine& tm, bool llvm_vectorizers = true);

/// The module as target assembly text (for inspection and tests).
std::string emit_assembly(llvm::Module& module, llvm::TargetMachine& tm);

/// The module as a relocatable object file's bytes (ELF on Linux).
std::string emit_object(llvm::Module& module, llvm::TargetMachine& tm);

/// A static library (a GNU `ar` archive with a symbol table) of the objects, given as member
/// name and bytes; deterministic (no dates, owners or modes from this machine).
std::string static_library(const std::vector<std::pair<std::string, std::string>>& objects);

} // namespace convtune
