/// \file The host target from LLVM's view of this CPU, and `--target` parsing.
#include "targets/target.h"

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "targets/llvm_compat.h"

namespace convtune {

bool Target::has_feature(const std::string& name) const {
  const std::string needle = "+" + name;
  size_t pos = 0;
  while ((pos = features.find(needle, pos)) != std::string::npos) {
    size_t end = pos + needle.size();
    if (end == features.size() || features[end] == ',') return true;
    pos = end;
  }
  return false;
}

std::string Target::key() const {
  std::string kind_name = kind == TargetKind::Cpu ? "cpu" : "cuda";
  return kind_name + "_" + triple + "_" + cpu + "_v" + std::to_string(vector_bits);
}

void to_json(nlohmann::json& j, const Target& t) {
  j = {{"kind", t.kind == TargetKind::Cpu ? "cpu" : "cuda"},
       {"triple", t.triple},
       {"cpu", t.cpu},
       {"vector_bits", t.vector_bits},
       {"cores", t.cores},
       {"key", t.key()}};
}

Target host_target() {
  Target t;
  t.kind = TargetKind::Cpu;
  t.triple = llvm::sys::getProcessTriple();
  t.cpu = llvm::sys::getHostCPUName().str();
  t.features = llvm_compat::host_cpu_features();
  if (t.has_feature("avx512f")) {
    t.vector_bits = 512;
  } else if (t.has_feature("avx2") || t.has_feature("avx")) {
    t.vector_bits = 256;
  }
  t.cores = std::max(1u, std::thread::hardware_concurrency());
  return t;
}

Target parse_target(const std::string& name) {
  if (name == "cpu" || name == "host") return host_target();
  throw UserError("invalid --target '" + name + "': expected cpu");
}

} // namespace convtune
