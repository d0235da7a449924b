/// \file The target factory: the host, named x86 CPUs and levels (their features from LLVM's
/// own CPU tables), CUDA architectures; and whether this host can run a target's code.
#include "targets/target.h"

#include <algorithm>
#include <cctype>
#include <thread>

#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/TargetParser/Triple.h>
#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "runtime/cuda_driver.h"
#include "targets/llvm_compat.h"
#include "targets/llvm_target.h"

namespace convtune {

namespace {

/// Vector width and register count follow from the ISA: AVX-512 has 32 zmm registers,
/// AVX/AVX2 16 ymm, SSE 16 xmm.
void set_vector_shape(Target& t) {
  if (t.has_feature("avx512f")) {
    t.vector_bits = 512;
    t.vector_registers = 32;
  } else if (t.has_feature("avx")) {
    t.vector_bits = 256;
    t.vector_registers = 16;
  } else {
    t.vector_bits = 128;
    t.vector_registers = 16;
  }
}

int host_cores() { return int(std::max(1u, std::thread::hardware_concurrency())); }

/// Whether the comma-separated feature list holds `token` ("+avx2", "-avx512f") whole.
bool has_token(const std::string& features, const std::string& token) {
  size_t pos = 0;
  while ((pos = features.find(token, pos)) != std::string::npos) {
    const size_t end = pos + token.size();
    if ((pos == 0 || features[pos - 1] == ',') && (end == features.size() || features[end] == ',')) return true;
    pos = end;
  }
  return false;
}

/// The x86-64 triple of this OS: the host's when the host is x86-64, else Linux's.
std::string x86_triple() {
  llvm::Triple host(llvm::sys::getProcessTriple());
  if (host.getArch() == llvm::Triple::x86_64) return host.str();
  return "x86_64-unknown-linux-gnu";
}

/// A named x86 CPU: its features are those LLVM's tables give that CPU by default.
Target named_cpu_target(const std::string& name) {
  initialize_llvm_targets();
  Target t;
  t.kind = TargetKind::Cpu;
  t.name = name;
  t.triple = x86_triple();
  t.cpu = name;
  std::string error;
  const llvm::Target* llvm_target = llvm::TargetRegistry::lookupTarget(t.triple, error);
  if (!llvm_target) throw UserError("invalid --target '" + name + "': this LLVM has no x86 back end (" + error + ")");
  // Validity is asked of a generic subtarget: creating one for an unknown CPU prints a warning.
  std::unique_ptr<llvm::MCSubtargetInfo> generic(llvm_target->createMCSubtargetInfo(t.triple, "", ""));
  if (!generic || !generic->isCPUStringValid(name)) {
    throw UserError("invalid --target '" + name +
                    "': expected cpu, cuda:sm_XX, an x86-64 level (x86-64-v2, x86-64-v3, x86-64-v4) or an x86 CPU "
                    "LLVM knows (haswell, skylake-avx512, znver3, znver4, ...)");
  }
  std::unique_ptr<llvm::MCSubtargetInfo> info(llvm_target->createMCSubtargetInfo(t.triple, name, ""));
  for (const llvm::SubtargetFeatureKV& f : info->getAllProcessorFeatures()) {
    const std::string feature = std::string("+") + f.Key;
    if (info->checkFeatures(feature)) t.features += (t.features.empty() ? "" : ",") + feature;
  }
  set_vector_shape(t);
  t.cores = host_cores();
  return t;
}

/// "cuda" (sm_90) or "cuda:sm_XX" for an architecture LLVM 19's NVPTX back end knows.
Target cuda_target(const std::string& name) {
  static const int known[] = {50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90};
  std::string arch = name == "cuda" ? "sm_90" : name.substr(5);
  int sm = 0;
  bool digits = arch.size() > 3 && arch.compare(0, 3, "sm_") == 0 &&
                std::all_of(arch.begin() + 3, arch.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && arch.size() <= 6) sm = std::stoi(arch.substr(3));
  if (std::find(std::begin(known), std::end(known), sm) == std::end(known)) {
    throw UserError("invalid --target '" + name + "': expected cuda:sm_XX with XX one of 50, 52, 53, 60, 61, 62, 70, 72, "
                    "75, 80, 86, 87, 89, 90");
  }
  Target t;
  t.kind = TargetKind::Cuda;
  t.name = "cuda:" + arch;
  t.triple = "nvptx64-nvidia-cuda";
  t.cpu = arch;
  t.features = "+ptx78";  // PTX 7.8: what sm_90 needs and what CUDA 12/13 drivers load
  t.sm = sm;
  t.vector_bits = 128;    // float4 loads and stores
  t.vector_registers = 255;
  t.cores = 1;
  return t;
}

} // namespace

bool Target::has_feature(const std::string& name) const { return has_token(features, "+" + name); }

std::string Target::key() const {
  std::string kind_name = kind == TargetKind::Cpu ? "cpu" : "cuda";
  std::string k = kind_name + "_" + triple + "_" + cpu + "_v" + std::to_string(vector_bits);
  if (!device.empty()) {
    k += "_";
    for (char c : device) k += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  }
  return k;
}

void to_json(nlohmann::json& j, const Target& t) {
  j = {{"kind", t.kind == TargetKind::Cpu ? "cpu" : "cuda"},
       {"name", t.name},
       {"triple", t.triple},
       {"cpu", t.cpu},
       {"vector_bits", t.vector_bits},
       {"vector_registers", t.vector_registers},
       {"cores", t.cores},
       {"key", t.key()}};
}

Target host_target() {
  // The host does not change while the process runs: LLVM is asked once, not per candidate.
  static const Target host = [] {
    Target t;
    t.kind = TargetKind::Cpu;
    t.name = "cpu";
    t.triple = llvm::sys::getProcessTriple();
    t.cpu = llvm::sys::getHostCPUName().str();
    t.features = llvm_compat::host_cpu_features();
    set_vector_shape(t);
    t.cores = host_cores();
    return t;
  }();
  return host;
}

Target parse_target(const std::string& name) {
  if (name == "cpu" || name == "host") return host_target();
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) return cuda_target(name);
  if (name.empty()) throw UserError("invalid --target '': expected cpu, cuda:sm_XX or an x86 CPU name");
  return named_cpu_target(name);
}

void require_host_can_run(const Target& target) {
  if (target.kind == TargetKind::Cuda) {
    const CudaDriver& gpu = CudaDriver::get(target.name);
    if (gpu.sm() < target.sm) {
      throw UserError("target '" + target.name + "' cannot run on this GPU (" + gpu.device_name() + ", sm_" +
                      std::to_string(gpu.sm()) + ")");
    }
    return;
  }
  const Target host = host_target();
  if (llvm::Triple(target.triple).getArch() != llvm::Triple(host.triple).getArch()) {
    throw UserError("target '" + target.name + "' (" + target.triple + ") cannot run on this host (" + host.triple + ")");
  }
  // Only features the host reports as absent can be missing: LLVM's host query names ISA
  // features, while a CPU's table also holds tuning flags that code never depends on.
  std::string missing;
  size_t start = 0;
  while (start < target.features.size()) {
    size_t end = target.features.find(',', start);
    if (end == std::string::npos) end = target.features.size();
    const std::string f = target.features.substr(start, end - start);
    start = end + 1;
    if (f.size() < 2 || f[0] != '+') continue;
    if (has_token(host.features, "-" + f.substr(1))) missing += (missing.empty() ? "" : ", ") + f.substr(1);
  }
  if (!missing.empty()) {
    throw UserError("target '" + target.name + "' cannot run on this host (" + host.cpu + "): it lacks " + missing);
  }
}


Target runnable_target(const Target& target) {
  require_host_can_run(target);
  Target t = target;
  if (t.kind == TargetKind::Cuda) t.device = CudaDriver::get(t.name).device_name();
  return t;
}

} // namespace convtune
