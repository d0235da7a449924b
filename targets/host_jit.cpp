/// \file The process-wide LLJIT and per-kernel resource trackers.
#include "targets/host_jit.h"

#include <mutex>

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/Support/Error.h>

#include "ir/error.h"
#include "runtime/thread_pool.h"
#include "targets/llvm_compat.h"
#include "targets/llvm_target.h"

namespace convtune {

namespace {
/// LLVM's Error into our internal error channel at the boundary.
template <class T> T unwrap(llvm::Expected<T> value, const std::string& what) {
  if (!value) throw InternalError(what + ": " + llvm::toString(value.takeError()));
  return std::move(*value);
}
void unwrap(llvm::Error error, const std::string& what) {
  if (error) throw InternalError(what + ": " + llvm::toString(std::move(error)));
}
} // namespace

struct HostJit::State {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::mutex mutex;
  uint64_t next_id = 0;
};

struct JitKernel::Impl {
  llvm::orc::ResourceTrackerSP tracker;
  std::mutex* mutex;
};

JitKernel::JitKernel(std::unique_ptr<Impl> impl, KernelAbi abi, void* entry, KernelCallFn call_fn, StageFn stage_fn)
    : impl_(std::move(impl)), abi_(std::move(abi)), entry_(entry), call_fn_(call_fn), stage_fn_(stage_fn) {}

int JitKernel::operator()(const float* in, const float* w, float* out) const {
  internal_check(abi_.params.size() == 3 && abi_.params[1].name == "weights",
                 "kernel " + abi_.name + " is not a plain convolution (input, weights, output)");
  return reinterpret_cast<ConvKernelFn>(entry_)(in, w, out);
}

JitKernel::~JitKernel() {
  std::lock_guard<std::mutex> lock(*impl_->mutex);
  // Freeing code cannot fail in-process; an error here would only be reported, not thrown.
  llvm::consumeError(impl_->tracker->remove());
}

HostJit::HostJit() : state_(std::make_unique<State>()) {
  initialize_llvm_targets();
  Target host = host_target();
  auto jtmb = unwrap(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host");
  jtmb.setCPU(host.cpu);
  jtmb.setCodeGenOptLevel(llvm_compat::kOptAggressive);
  state_->jit = unwrap(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(jtmb)).create(),
                       "creating the JIT");
  // Generated code may call the C library (memset, malloc).
  auto& jd = state_->jit->getMainJITDylib();
  jd.addGenerator(unwrap(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
                             state_->jit->getDataLayout().getGlobalPrefix()),
                         "searching the process for symbols"));
  // The runtime that generated code calls, resolved to this process's copy.
  define_runtime_symbol("convtune_parallel_for", reinterpret_cast<void*>(&convtune_parallel_for));
  define_runtime_symbol("convtune_cpu_supports", reinterpret_cast<void*>(&convtune_cpu_supports));
}

HostJit& HostJit::instance() {
  static HostJit jit;
  return jit;
}

void HostJit::define_runtime_symbol(const std::string& name, void* address) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  auto& jit = *state_->jit;
  llvm::orc::SymbolMap symbols;
  symbols[jit.mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                                        llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  unwrap(jit.getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols))),
         "defining runtime symbol " + name);
}

std::unique_ptr<JitKernel> HostJit::add(std::unique_ptr<llvm::Module> module,
                                        std::unique_ptr<llvm::LLVMContext> context, KernelAbi abi) {
  const std::string name = abi.name;
  std::lock_guard<std::mutex> lock(state_->mutex);
  auto& jit = *state_->jit;
  // Kernels of the same name live side by side (a tuning session holds many candidates), so
  // each one's exported symbols get a suffix of their own.
  internal_check(module->getFunction(name) != nullptr, "module has no function " + name);
  const std::string suffix = "_jit" + std::to_string(state_->next_id++);
  for (llvm::Function& f : *module) {
    if (!f.isDeclaration() && f.hasExternalLinkage()) f.setName(f.getName() + suffix);
  }
  auto impl = std::make_unique<JitKernel::Impl>();
  impl->mutex = &state_->mutex;
  impl->tracker = jit.getMainJITDylib().createResourceTracker();
  unwrap(jit.addIRModule(impl->tracker, llvm::orc::ThreadSafeModule(std::move(module), std::move(context))),
         "adding module " + name);
  auto lookup = [&](const std::string& symbol) { return unwrap(jit.lookup(symbol + suffix), "looking up " + symbol); };
  const auto entry = lookup(name), call = lookup(name + "_call"), stage = lookup(name + "_stage");
  return std::unique_ptr<JitKernel>(new JitKernel(std::move(impl), std::move(abi), entry.toPtr<void*>(),
                                                  call.toPtr<KernelCallFn>(), stage.toPtr<StageFn>()));
}

} // namespace convtune
