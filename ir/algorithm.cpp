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

namespace {

/// `e` as a sum of dimension * constant terms (in `dims`) plus a constant; false when it is not.
bool dim_terms(const Expr& e, int64_t scale, const std::vector<Dim>& dims, std::map<std::string, int64_t>& terms, int64_t& constant) {
  if (const IntImm* i = e.as<IntImm>()) {
    constant += scale * i->value;
    return true;
  }
  if (const Var* v = e.as<Var>()) {
    for (const Dim& d : dims) {
      if (d.name == v->name) {
        terms[v->name] += scale;
        return true;
      }
    }
    return false;
  }
  const Binary* b = e.as<Binary>();
  if (!b) return false;
  if (b->op == BinaryOp::Add) return dim_terms(b->a, scale, dims, terms, constant) && dim_terms(b->b, scale, dims, terms, constant);
  if (b->op == BinaryOp::Mul) {
    if (const IntImm* c = b->b.as<IntImm>()) return dim_terms(b->a, scale * c->value, dims, terms, constant);
    if (const IntImm* c = b->a.as<IntImm>()) return dim_terms(b->b, scale * c->value, dims, terms, constant);
  }
  return false;
}

} // namespace

std::optional<std::vector<LetBinding>> stage_point(const AlgorithmStage& stage, const std::vector<Expr>& coords) {
  internal_check(coords.size() == stage.index.size(), "stage_point: coordinates of another rank");
  std::map<std::string, Expr> value;
  for (size_t c = 0; c < stage.index.size(); ++c) {
    std::map<std::string, int64_t> terms;
    int64_t constant = 0;
    if (!dim_terms(stage.index[c], 1, stage.dims, terms, constant) || constant != 0) return std::nullopt;
    // Mixed radix: the innermost term has coefficient 1, each outer one the product of the
    // extents inside it; the outermost is not reduced modulo its extent.
    std::vector<std::pair<int64_t, std::string>> by_coefficient;
    for (const auto& [name, coefficient] : terms) {
      // A dimension of extent 1 is 0 wherever it is, whatever its coefficient.
      int64_t extent = 0;
      for (const Dim& d : stage.dims) {
        if (d.name == name) extent = d.extent;
      }
      if (extent == 1 && !value.count(name)) value[name] = Expr(0);
      else by_coefficient.push_back({coefficient, name});
    }
    std::sort(by_coefficient.begin(), by_coefficient.end());
    int64_t radix = 1;
    for (size_t t = 0; t < by_coefficient.size(); ++t) {
      const auto& [coefficient, name] = by_coefficient[t];
      if (coefficient != radix || value.count(name)) return std::nullopt;
      int64_t extent = 0;
      for (const Dim& d : stage.dims) {
        if (d.name == name) extent = d.extent;
      }
      Expr v = radix == 1 ? coords[c] : coords[c] / Expr(radix);
      if (t + 1 < by_coefficient.size()) v = v % Expr(extent);
      value[name] = v;
      radix *= extent;
    }
  }
  std::vector<LetBinding> point;
  for (const Dim& d : stage.dims) {
    auto it = value.find(d.name);
    if (it == value.end()) return std::nullopt;
    point.push_back({d.name, it->second});
  }
  return point;
}

Algorithm inline_stage(const Algorithm& algorithm, const std::string& name) {
  const AlgorithmStage& inlined = algorithm.stage(name);
  internal_check(!inlined.update && inlined.buffer->scope != MemoryScope::Param, "inline_stage: " + name + " cannot be inlined");
  const auto rewrite = [&inlined](const Expr& e) {
    return replace_loads(e, [&inlined](const Load* l) {
      if (l->buffer != inlined.buffer) return Expr();
      auto point = stage_point(inlined, l->indices);
      internal_check(point.has_value(), "inline_stage: the index of " + inlined.name + " is not invertible");
      // Simultaneously: the reader's names may be the stage's own dimensions, in another order.
      Expr value = inlined.init;
      for (const auto& [dim, v] : *point) value = substitute(value, dim, Var::make(dim + ".inlined"));
      for (const auto& [dim, v] : *point) value = substitute(value, dim + ".inlined", v);
      return value;
    });
  };
  Algorithm out = algorithm;
  out.stages.clear();
  for (const AlgorithmStage& s : algorithm.stages) {
    if (s.name == name) continue;
    AlgorithmStage r = s;
    r.init = rewrite(s.init);
    if (r.update) {
      r.update->value = rewrite(r.update->value);
      if (r.update->guard.defined()) r.update->guard = rewrite(r.update->guard);
    }
    out.stages.push_back(r);
  }
  return out;
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
