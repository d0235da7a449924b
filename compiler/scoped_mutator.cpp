/// \file The scope kept while walking a nest.
#include "compiler/scoped_mutator.h"

namespace convtune {

Stmt ScopedMutator::visit(const For* op, const Stmt& self) {
  const Interval range = loop_range(bounds_of(op->min, scope_.ranges), bounds_of(op->extent, scope_.ranges));
  return bound(op->name, range, [&] { return IRMutator::visit(op, self); });
}

Stmt ScopedMutator::visit(const LetStmt* op, const Stmt& self) {
  scope_.lets.push_back({op->name, op->value});
  Stmt out = bound(op->name, bounds_of(op->value, scope_.ranges), [&] { return IRMutator::visit(op, self); });
  scope_.lets.pop_back();
  return out;
}

Stmt ScopedMutator::bound(const std::string& name, const Interval& range, const std::function<Stmt()>& body) {
  const auto saved = scope_.ranges.find(name);
  const std::optional<Interval> shadowed = saved == scope_.ranges.end() ? std::nullopt : std::optional<Interval>(saved->second);
  scope_.ranges[name] = range;
  Stmt out = body();
  if (shadowed) scope_.ranges[name] = *shadowed; else scope_.ranges.erase(name);
  return out;
}

std::vector<Expr> conjuncts(const Expr& cond) {
  const Logical* l = cond.as<Logical>();
  if (!l || l->op != LogicalOp::And) return {cond};
  std::vector<Expr> out = conjuncts(l->a);
  for (const Expr& c : conjuncts(l->b)) out.push_back(c);
  return out;
}

Stmt join_guards(const IfThenElse* op, const Stmt& out, bool own_first) {
  const IfThenElse* outer = out.as<IfThenElse>();
  if (!outer || op->else_case.defined() || !op->then_case.as<Store>()) return out;
  const IfThenElse* own = outer->then_case.as<IfThenElse>();
  if (!own || own->else_case.defined()) return out;
  std::vector<Expr> conds = conjuncts(own_first ? own->cond : outer->cond);
  for (const Expr& c : conjuncts(own_first ? outer->cond : own->cond)) conds.push_back(c);
  return IfThenElse::make(all_of(conds), own->then_case);
}

void for_each_store(const Stmt& s, const std::function<void(const Store*, const NestScope&)>& f) {
  struct Walk : ScopedMutator {
    const std::function<void(const Store*, const NestScope&)>* f;
    Stmt visit(const Store* op, const Stmt& self) override {
      (*f)(op, scope_);
      return self;
    }
    using ScopedMutator::visit;
  } walk;
  walk.f = &f;
  walk.mutate(s);
}

} // namespace convtune
