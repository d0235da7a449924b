/// \file TargetMachine creation, the new-pass-manager O3 pipeline, and code emission.
#include "targets/llvm_target.h"

#include <llvm/Object/ArchiveWriter.h>

#include <mutex>

#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

#include "ir/error.h"
#include "targets/llvm_compat.h"

namespace convtune {

extern "C" {
// The NVPTX back end's registration (LLVM's Targets.def names them; only the native target has
// a helper of its own).
void LLVMInitializeNVPTXTargetInfo();
void LLVMInitializeNVPTXTarget();
void LLVMInitializeNVPTXTargetMC();
void LLVMInitializeNVPTXAsmPrinter();
}

void initialize_llvm_targets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
  });
}

std::unique_ptr<llvm::TargetMachine> make_target_machine(const Target& target) {
  initialize_llvm_targets();
  std::string error;
  const llvm::Target* t = llvm::TargetRegistry::lookupTarget(target.triple, error);
  if (!t) throw UserError("target '" + target.triple + "' is not available in this LLVM: " + error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(t->createTargetMachine(
      target.triple, target.cpu, target.features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm_compat::kOptAggressive));
  internal_check(tm != nullptr, "no TargetMachine for " + target.triple);
  return tm;
}

void prepare_module(llvm::Module& module, const llvm::TargetMachine& tm) {
  module.setTargetTriple(tm.getTargetTriple().str());
  module.setDataLayout(tm.createDataLayout());
  for (llvm::Function& f : module) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    f.addFnAttr("target-features", tm.getTargetFeatureString());
  }
}

void optimize_module(llvm::Module& module, llvm::TargetMachine& tm, bool llvm_vectorizers) {
  std::string broken;
  llvm::raw_string_ostream os(broken);
  if (llvm::verifyModule(module, &os)) throw InternalError("codegen produced invalid LLVM IR: " + os.str());

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = llvm_vectorizers;
  tuning.SLPVectorization = llvm_vectorizers;
  tuning.LoopUnrolling = true;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(module, mam);
}

namespace {
void emit(llvm::Module& module, llvm::TargetMachine& tm, llvm::raw_pwrite_stream& out,
          llvm::CodeGenFileType type) {
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, out, nullptr, type)) {
    throw InternalError("the target machine cannot emit this file type");
  }
  pm.run(module);
}
} // namespace

std::string emit_assembly(llvm::Module& module, llvm::TargetMachine& tm) {
  llvm::SmallString<0> text;
  llvm::raw_svector_ostream os(text);
  emit(module, tm, os, llvm_compat::kAssemblyFile);
  return std::string(text.str());
}

std::string static_library(const std::vector<std::pair<std::string, std::string>>& objects) {
  std::vector<llvm::NewArchiveMember> members;
  for (const auto& [name, bytes] : objects) members.emplace_back(llvm::MemoryBufferRef(bytes, name));
  std::string out;
  llvm::raw_string_ostream os(out);
  if (llvm::Error e = llvm::writeArchiveToStream(os, members, llvm::SymtabWritingMode::NormalSymtab,
                                                 llvm::object::Archive::K_GNU, /*Deterministic=*/true, /*Thin=*/false)) {
    throw InternalError("writing a static library: " + llvm::toString(std::move(e)));
  }
  os.flush();
  return out;
}

std::string emit_object(llvm::Module& module, llvm::TargetMachine& tm) {
  llvm::SmallString<0> bytes;
  llvm::raw_svector_ostream os(bytes);
  emit(module, tm, os, llvm_compat::kObjectFile);
  return std::string(bytes.str());
}

} // namespace convtune
