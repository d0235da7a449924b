/// \file Which statements a tail needs guarded.
#include "compiler/tail_guards.h"

#include <algorithm>
#include <map>
#include <set>

#include "compiler/layout_packing.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

/// The dimensions a split tail makes over-run: walking the relations forwards, the dimensions
/// each loop covers, collected where a split's factor does not divide its loop.
std::set<std::string> tail_dims(const ScheduleState& st) {
  const AlgorithmStage& stage = st.stage();
  std::map<std::string, std::set<std::string>> roots;
  for (const Dim& d : stage.dims) roots[d.name] = {d.name};
  if (stage.update) {
    for (const Dim& d : stage.update->rdims) roots[d.name] = {d.name};
  }
  std::set<std::string> tails;
  for (const LoopRelation& r : st.relations()) {
    if (r.kind == LoopRelation::Split) {
      roots[r.outer] = roots[r.inner] = roots[r.parent];
      if (r.parent_extent % r.factor != 0) tails.insert(roots[r.parent].begin(), roots[r.parent].end());
    } else {
      roots[r.parent] = roots[r.outer];
      roots[r.parent].insert(roots[r.inner].begin(), roots[r.inner].end());
    }
  }
  return tails;
}

/// Whether every read of the stage (its update, or a pure stage's definition) whose index
/// depends on `dim` reaches at least `needed`.
bool reads_reach(const AlgorithmStage& stage, const std::string& dim, const std::function<ReadReach(const Buffer*)>& reach,
                 ReadReach needed) {
  static const std::vector<LetBinding> no_lets;
  const std::vector<LetBinding>& lets = stage.update ? stage.update->lets : no_lets;
  for (const Load* load : loads_in(stage.update ? stage.update->value : stage.init)) {
    bool depends = false;
    for (const Expr& i : load->indices) depends = depends || vars_in(substitute_lets(i, lets)).count(dim) > 0;
    if (depends && int(reach(load->buffer.get())) < int(needed)) return false;
  }
  return true;
}

/// The dimension `name` of the stage: pure or a reduction of its update.
const Dim& dimension(const AlgorithmStage& stage, const std::string& name, bool& reduction) {
  for (const Dim& d : stage.dims) {
    if (d.name != name) continue;
    reduction = false;
    return d;
  }
  if (stage.update) {
    for (const Dim& d : stage.update->rdims) {
      if (d.name != name) continue;
      reduction = true;
      return d;
    }
  }
  throw InternalError("tail_guards: no dimension " + name);
}

} // namespace

TailGuards tail_guards(const ScheduleState& st, const std::function<ReadReach(const Buffer*)>& reach, bool result_packed) {
  const AlgorithmStage& stage = st.stage();
  const bool cache_write = !st.accumulate_at().empty();
  TailGuards g;
  for (const std::string& dim : tail_dims(st)) {
    const bool exact = std::count(stage.exact_dims.begin(), stage.exact_dims.end(), dim) > 0;
    bool reduction = false;
    Expr guard = Var::make(dim) < Expr(dimension(stage, dim, reduction).extent);
    // What a reduction reads past the tensor is summed: it must be zero.
    const bool reads_safe =
        !exact && reads_reach(stage, dim, reach, reduction ? ReadReach::ZeroPadded : ReadReach::Sized);
    if (reduction) {
      if (!reads_safe) g.reduction.push_back(guard);
      continue;
    }
    const bool writes_safe = !exact && result_packed;
    if (!writes_safe || (!reads_safe && !cache_write)) g.pure.push_back(guard);
    if (!reads_safe && cache_write) g.tile_reads.push_back(guard);
  }
  return g;
}

} // namespace convtune
