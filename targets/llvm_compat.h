/// \file Every LLVM call whose spelling changes between LLVM versions, in one place (LLVM 19).
#pragma once

#include <string>

#include <llvm/ADT/StringMap.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/Support/CodeGen.h>
#include <llvm/TargetParser/Host.h>

namespace convtune::llvm_compat {

/// The host's CPU features as "+a,+b,-c" (LLVM 19 returns the map; 18 filled an argument).
inline std::string host_cpu_features() {
  std::string out;
  const llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  for (const auto& f : features) {
    if (!out.empty()) out += ",";
    out += (f.second ? "+" : "-") + f.first().str();
  }
  return out;
}

constexpr llvm::CodeGenFileType kObjectFile = llvm::CodeGenFileType::ObjectFile;
constexpr llvm::CodeGenFileType kAssemblyFile = llvm::CodeGenFileType::AssemblyFile;
constexpr llvm::CodeGenOptLevel kOptAggressive = llvm::CodeGenOptLevel::Aggressive;

/// A pointer type in address space 0 (opaque pointers: one type for every pointee).
inline llvm::PointerType* ptr_type(llvm::LLVMContext& ctx) { return llvm::PointerType::get(ctx, 0); }

} // namespace convtune::llvm_compat
