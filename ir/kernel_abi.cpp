/// \file Deriving the kernel ABI from a nest.
#include "ir/kernel_abi.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/ir_visitor.h"

namespace convtune {

bool KernelAbi::has_stage(StageKind kind) const {
  return std::any_of(stages.begin(), stages.end(), [&](const AbiStage& s) { return s.kind == kind; });
}

namespace {

bool loads_from(const Stmt& s, const BufferRef& buffer) {
  for (const Load* l : loads_in(s)) {
    if (l->buffer == buffer) return true;
  }
  return false;
}

bool stores_to(const Stmt& s, const BufferRef& buffer) {
  struct Find : IRVisitor {
    BufferRef buffer;
    bool found = false;
    using IRVisitor::visit;
    void visit(const Store* op) override {
      found = found || op->buffer == buffer;
      IRVisitor::visit(op);
    }
  } f;
  f.buffer = buffer;
  f.visit(s);
  return f.found;
}

/// A stage's ABI entry with the launch its GPU-bound loops make. A bound loop's extent must be
/// a constant (the launch is fixed when the kernel is compiled).
AbiStage abi_stage(const NestStage& stage) {
  struct Find : IRVisitor {
    AbiStage out;
    using IRVisitor::visit;
    void visit(const For* op) override {
      const int axis = op->for_kind == ForKind::GpuBlockX || op->for_kind == ForKind::GpuThreadX   ? 0
                       : op->for_kind == ForKind::GpuBlockY || op->for_kind == ForKind::GpuThreadY ? 1
                                                                                                  : 2;
      if (is_gpu_block(op->for_kind) || is_gpu_thread(op->for_kind)) {
        const IntImm* extent = op->extent.as<IntImm>();
        internal_check(extent != nullptr, "kernel_abi: GPU loop '" + op->name + "' has no constant extent");
        (is_gpu_block(op->for_kind) ? out.grid : out.block)[axis] = extent->value;
      }
      IRVisitor::visit(op);
    }
    void visit(const Allocate* op) override {
      // Each shared buffer starts 16-byte aligned (codegen_nvptx), so it takes its size rounded up.
      if (op->buffer->scope == MemoryScope::GpuShared) out.shared_bytes += (op->buffer->elements() * int64_t(sizeof(float)) + 15) / 16 * 16;
      IRVisitor::visit(op);
    }
  } f;
  f.out.name = stage.name;
  f.out.kind = stage.kind;
  f.visit(stage.body);
  return f.out;
}

} // namespace

std::string gpu_kernel_name(const std::string& name, size_t index) { return name + "_s" + std::to_string(index); }

bool AbiStage::on_gpu() const {
  for (int a = 0; a < 3; ++a) {
    if (grid[a] != 1 || block[a] != 1) return true;
  }
  return shared_bytes > 0;
}

int64_t elements_of(const std::vector<int64_t>& shape) {
  int64_t e = 1;
  for (int64_t d : shape) e *= d;
  return e;
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
  for (const NestStage& s : nest.stages) abi.stages.push_back(abi_stage(s));
  for (size_t i = 0; i < abi.params.size(); ++i) {
    if (abi.params[i].name == "weights") abi.weights_param = int(i);
  }
  // The temporary the weights' packing stores into: the packed form NAME_run takes.
  for (const NestStage& s : nest.stages) {
    if (s.kind != StageKind::PackWeights) continue;
    for (size_t t = 0; t < nest.temporaries.size(); ++t) {
      if (!stores_to(s.body, nest.temporaries[t])) continue;
      internal_check(abi.packed_weights < 0 || abi.packed_weights == int(t), "kernel_abi: weights packed into two buffers");
      abi.packed_weights = int(t);
    }
  }
  // The input and output kept in blocks, each with the one stage that only converts it.
  for (const PackedLayout& l : nest.layouts) {
    if (!l.plain || (l.original->name != "input" && l.original->name != "output")) continue;
    // A parameter two stages keep in layouts of their own has no one blocked form.
    int copies = 0;
    for (const PackedLayout& other : nest.layouts) copies += other.original == l.original ? 1 : 0;
    if (copies > 1) continue;
    AbiBlocked b;
    for (size_t i = 0; i < nest.params.size(); ++i) {
      if (nest.params[i].buffer == l.original) b.param = int(i);
    }
    for (size_t t = 0; t < nest.temporaries.size(); ++t) {
      if (nest.temporaries[t] == l.packed) b.temporary = int(t);
    }
    int converters = 0;
    for (size_t i = 0; i < nest.stages.size(); ++i) {
      const NestStage& s = nest.stages[i];
      const bool converts = l.written ? s.kind == StageKind::UnpackOutput && loads_from(s.body, l.packed) && stores_to(s.body, l.original)
                                      : s.kind == StageKind::PackInput && stores_to(s.body, l.packed);
      if (!converts) continue;
      b.stage = int(i);
      ++converters;
    }
    if (b.param < 0 || b.temporary < 0 || converters != 1) continue;
    b.layout = l.layout;
    for (const auto& [dim, block] : l.blocks) {
      b.layout += std::to_string(block) + char(std::tolower(static_cast<unsigned char>(l.layout[dim])));
      b.blocks.push_back({int(dim), block});
    }
    b.shape = l.packed->shape;
    b.offsets = l.offsets;
    b.offsets.resize(l.original->shape.size(), 0);
    b.exterior_value = l.exterior_value;
    abi.blocked.push_back(b);
  }
  if (abi.packed_weights >= 0) abi.packed_weights_bytes = abi.temporaries[size_t(abi.packed_weights)].bytes;
  else if (abi.weights_param >= 0) abi.packed_weights_bytes = elements_of(abi.params[size_t(abi.weights_param)].shape) * int64_t(sizeof(float));
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
  for (const AbiStage& s : abi.stages) {
    nlohmann::json stage = {{"name", s.name}, {"kind", to_string(s.kind)}};
    if (s.on_gpu()) {
      stage["grid"] = {s.grid[0], s.grid[1], s.grid[2]};
      stage["block"] = {s.block[0], s.block[1], s.block[2]};
      stage["shared_bytes"] = s.shared_bytes;
    }
    j["stages"].push_back(stage);
  }
  j["workspace_bytes"] = abi.workspace_bytes;
  j["blocked"] = nlohmann::json::array();
  for (const AbiBlocked& b : abi.blocked) {
    nlohmann::json blocks = nlohmann::json::array();
    for (const auto& [dim, block] : b.blocks) blocks.push_back({{"dim", dim}, {"block", block}});
    j["blocked"].push_back({{"param", abi.params[size_t(b.param)].name}, {"layout", b.layout}, {"shape", b.shape},
                            {"blocks", blocks}, {"offsets", b.offsets},
                            {"exterior_value", std::isinf(b.exterior_value) ? nlohmann::json(b.exterior_value < 0 ? "-inf" : "inf")
                                                                            : nlohmann::json(b.exterior_value)}});
  }
  if (abi.weights_param >= 0) {
    j["packed_weights"] = abi.packed_weights >= 0 ? nlohmann::json(abi.temporaries[size_t(abi.packed_weights)].name) : nlohmann::json();
    j["packed_weights_bytes"] = abi.packed_weights_bytes;
  }
}

} // namespace convtune
