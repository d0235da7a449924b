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
    return join_guards(op, ScopedMutator::visit(op, self), /*own_first=*/false);
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
    const auto leaves = [&](const Buffer& b, const std::vector<Expr>& index) {
      for (size_t d = 0; d < index.size(); ++d) {
        const Interval i = bounds_of(scope_.in_loops(index[d]), scope_.ranges);
        if (!i.bounded() || i.lo < 0 || i.hi >= b.shape[d]) return true;
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
