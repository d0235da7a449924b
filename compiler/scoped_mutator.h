/// \file A mutator that knows what is in scope at each statement: the enclosing loops' ranges
/// and the enclosing lets (their values and ranges). The passes after scheduling (bounds
/// inference, storage, tail guards, padding) judge each access by it.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "ir/interval.h"
#include "ir/ir.h"
#include "ir/ir_visitor.h"

namespace convtune {

struct NestScope {
  VarRanges ranges;              ///< each enclosing loop's and let's range
  std::vector<LetBinding> lets;  ///< the enclosing lets, outermost first

  /// `e` in the loops alone: every enclosing let substituted.
  Expr in_loops(const Expr& e) const { return substitute_lets(e, lets); }
};

/// Walks a statement keeping `scope_` up to date; override `visit(const Store*, ...)` (and call
/// nothing else) to judge or rewrite each store where it stands.
class ScopedMutator : public IRMutator {
protected:
  NestScope scope_;
  using IRMutator::visit;
  Stmt visit(const For* op, const Stmt& self) override;
  Stmt visit(const LetStmt* op, const Stmt& self) override;

private:
  /// `body()` with `name` in scope over `range` (an outer binding of the name restored after).
  Stmt bound(const std::string& name, const Interval& range, const std::function<Stmt()>& body);
};

/// The conjuncts of an `&&` tree, left to right.
std::vector<Expr> conjuncts(const Expr& cond);

/// A pass that guards stores, meeting a store that already had a guard: `op` is that guard as
/// it was (its then-case a bare store) and `out` the same rebuilt by the pass. Where the pass
/// wrapped the store in a guard of its own, one guard with both conditions (the pass's first
/// when `own_first`), so the kernel tests one condition, not two nested ones.
Stmt join_guards(const IfThenElse* op, const Stmt& out, bool own_first);

/// Calls `f` on each store of `s` with the scope around it.
void for_each_store(const Stmt& s, const std::function<void(const Store*, const NestScope&)>& f);

} // namespace convtune
