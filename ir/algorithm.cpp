/// \file Algorithm descriptions and their naive loop nest.
#include "ir/algorithm.h"

#include <algorithm>
#include <map>

#include "ir/error.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

/// The update's loops around its store: each let just inside the innermost reduction loop
/// whose variable (or an earlier let) it reads, so the index math runs no deeper than needed.
Stmt reduction_loops(const Update& u, Stmt body) {
  // level[i]: 0 above every reduction loop, d + 1 inside rdims[d].
  std::map<std::string, size_t> level;
  for (size_t d = 0; d < u.rdims.size(); ++d) level[u.rdims[d].name] = d + 1;
  std::vector<std::vector<LetBinding>> at(u.rdims.size() + 1);
  for (const LetBinding& let : u.lets) {
    size_t l = 0;
    for (const std::string& v : vars_in(let.second)) {
      auto it = level.find(v);
      if (it != level.end()) l = std::max(l, it->second);
    }
    level[let.first] = l;
    at[l].push_back(let);
  }
  for (size_t d = u.rdims.size(); d > 0; --d) {
    body = wrap_lets(at[d], body);
    body = For::make(u.rdims[d - 1].name, 0, u.rdims[d - 1].extent, ForKind::Serial, body);
  }
  return wrap_lets(at[0], body);
}

} // namespace

Stmt naive_stage_loops(const AlgorithmStage& s, bool parallel) {
  Stmt point = Store::make(s.buffer, s.index, s.init, false);
  if (s.update) {
    const Update& u = *s.update;
    Stmt fold = u.op == ReduceOp::Sum ? Store::make(s.buffer, s.index, u.value, /*accumulate=*/true)
                                      : Store::make(s.buffer, s.index, max(Load::make(s.buffer, s.index), u.value), false);
    if (u.guard.defined()) fold = IfThenElse::make(u.guard, fold);
    point = Block::make({point, reduction_loops(u, fold)});
  }
  const size_t fused = parallel ? std::min<size_t>(2, s.dims.size()) : 0;
  for (size_t d = s.dims.size(); d-- > fused;) point = For::make(s.dims[d].name, 0, s.dims[d].extent, ForKind::Serial, point);
  if (fused == 0) return point;
  if (fused == 1) return For::make(s.dims[0].name, 0, s.dims[0].extent, ForKind::Parallel, point);
  // One parallel loop over both: each thread gets whole rows of the second.
  const Dim &a = s.dims[0], &b = s.dims[1];
  const std::string name = a.name + "_" + b.name;
  point = LetStmt::make(a.name, Var::make(name) / Expr(b.extent), LetStmt::make(b.name, Var::make(name) % Expr(b.extent), point));
  return For::make(name, 0, a.extent * b.extent, ForKind::Parallel, point);
}

Stmt wrap_lets(const std::vector<LetBinding>& lets, Stmt body) {
  for (auto it = lets.rbegin(); it != lets.rend(); ++it) body = LetStmt::make(it->first, it->second, body);
  return body;
}

const AlgorithmStage& Algorithm::stage(const std::string& stage_name) const {
  for (const AlgorithmStage& s : stages) {
    if (s.name == stage_name) return s;
  }
  throw InternalError("algorithm " + name + " has no stage " + stage_name);
}

LoopNest naive_nest(const Algorithm& algorithm, const std::string& name) {
  internal_check(!algorithm.stages.empty(), "algorithm " + algorithm.name + " has no stages");
  LoopNest nest;
  nest.name = name;
  nest.params = algorithm.params;
  for (const AlgorithmStage& s : algorithm.stages) {
    if (s.buffer->scope != MemoryScope::Param) nest.temporaries.push_back(s.buffer);
    nest.stages.push_back({s.name, s.kind, naive_stage_loops(s)});
  }
  return nest;
}

} // namespace convtune
