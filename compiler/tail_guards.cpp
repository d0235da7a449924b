/// \file Which stores a tail needs guarded.
#include "compiler/tail_guards.h"

#include <map>
#include <set>

#include "compiler/scoped_mutator.h"

namespace convtune {

namespace {

class GuardTails : public ScopedMutator {
public:
  explicit GuardTails(const std::vector<StageDim>& dims) {
    for (const StageDim& d : dims) dims_[d.name] = &d;
  }

protected:
  using ScopedMutator::visit;

  Stmt visit(const IfThenElse* op, const Stmt& self) override {
    // Below a guard without an else, its variables are narrowed: a store the guard already
    // keeps inside its buffers needs no other.
    const VarRanges outside = scope_.ranges;
    if (!op->else_case.defined()) scope_.ranges = assume(op->cond, scope_.ranges);
    Stmt out = join_guards(op, ScopedMutator::visit(op, self), /*own_first=*/false);
    scope_.ranges = outside;
    return out;
  }

  Stmt visit(const Store* op, const Stmt& self) override {
    // An access depends on a dimension when it varies with a loop the dimension's let is
    // made of (indices may name the dimension, or its value already substituted).
    const auto loops_of = [&](const Expr& e) { return vars_in(scope_.in_loops(e)); };
    const auto depends = [&](const std::vector<Expr>& index, const std::set<std::string>& dim_loops) {
      for (const Expr& i : index) {
        for (const std::string& v : loops_of(i)) {
          if (dim_loops.count(v)) return true;
        }
      }
      return false;
    };
    // Inside when the index is, in its lets (as narrowed by the guards around) or in the loops.
    const auto leaves = [&](const Buffer& b, const std::vector<Expr>& index) {
      const auto inside = [&](const Expr& e, int64_t extent) {
        const Interval i = bounds_of(e, scope_.ranges);
        return i.bounded() && i.lo >= 0 && i.hi < extent;
      };
      for (size_t d = 0; d < index.size(); ++d) {
        if (!inside(index[d], b.shape[d]) && !inside(scope_.in_loops(index[d]), b.shape[d])) return true;
      }
      return false;
    };
    const std::vector<const Load*> loads = loads_in(self);
    std::vector<Expr> reduction, pure;
    for (const auto& [name, dim] : dims_) {
      if (!over_runs(*dim)) continue;
      const std::set<std::string> dim_loops = loops_of(Var::make(name));
      bool guard = false, touched = depends(op->indices, dim_loops);
      if (touched && leaves(*op->buffer, op->indices)) guard = true;
      for (const Load* l : loads) {
        if (!depends(l->indices, dim_loops)) continue;
        touched = true;
        if (leaves(*l->buffer, l->indices) || (dim->reduction && !l->buffer->exterior_identity)) guard = true;
      }
      if (touched && (guard || dim->exact)) (dim->reduction ? reduction : pure).push_back(Var::make(name) < Expr(dim->extent));
    }
    reduction.insert(reduction.end(), pure.begin(), pure.end());
    return reduction.empty() ? self : IfThenElse::make(all_of(reduction), self);
  }

private:
  /// Whether the dimension is let-bound here with values past its extent.
  bool over_runs(const StageDim& dim) const {
    bool bound = false;
    for (const LetBinding& l : scope_.lets) bound = bound || l.first == dim.name;
    if (!bound) return false;
    const Interval i = scope_.ranges.at(dim.name);
    return !i.bounded() || i.hi >= dim.extent;
  }

  std::map<std::string, const StageDim*> dims_;
};

} // namespace

LoopNest guard_tails(const LoopNest& nest) {
  LoopNest out = nest;
  for (NestStage& stage : out.stages) {
    if (!stage.dims.empty()) stage.body = GuardTails(stage.dims).mutate(stage.body);
  }
  return out;
}

} // namespace convtune
