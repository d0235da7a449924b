/// \file Deriving the kernel ABI from a nest.
#include "ir/kernel_abi.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace convtune {

bool KernelAbi::has_stage(StageKind kind) const {
  return std::any_of(stages.begin(), stages.end(), [&](const AbiStage& s) { return s.kind == kind; });
}

KernelAbi kernel_abi(const LoopNest& nest) {
  KernelAbi abi;
  abi.name = nest.name;
  for (const NestParam& p : nest.params) abi.params.push_back({p.buffer->name, p.buffer->shape, p.layout, p.written});
  for (const BufferRef& t : nest.temporaries) {
    const int64_t bytes = t->elements() * int64_t(sizeof(float));
    abi.temporaries.push_back({t->name, t->shape, abi.workspace_bytes, bytes});
    abi.workspace_bytes += (bytes + KernelAbi::kWorkspaceAlign - 1) / KernelAbi::kWorkspaceAlign * KernelAbi::kWorkspaceAlign;
  }
  for (const NestStage& s : nest.stages) abi.stages.push_back({s.name, s.kind});
  return abi;
}

void to_json(nlohmann::json& j, const KernelAbi& abi) {
  j = nlohmann::json::object();
  j["name"] = abi.name;
  for (const AbiParam& p : abi.params) {
    j["params"].push_back({{"name", p.name}, {"shape", p.shape}, {"layout", p.layout}, {"written", p.written}});
  }
  j["temporaries"] = nlohmann::json::array();
  for (const AbiTemporary& t : abi.temporaries) {
    j["temporaries"].push_back({{"name", t.name}, {"shape", t.shape}, {"offset_bytes", t.offset_bytes}, {"bytes", t.bytes}});
  }
  for (const AbiStage& s : abi.stages) j["stages"].push_back({{"name", s.name}, {"kind", to_string(s.kind)}});
  j["workspace_bytes"] = abi.workspace_bytes;
}

} // namespace convtune
