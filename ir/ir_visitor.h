/// \file Walking and rewriting the IR: a read-only visitor and a mutator that rebuilds a node
/// only when one of its children changed.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace convtune {

/// Visits every node of a tree; override the node kinds of interest and call the base to
/// keep walking into children.
class IRVisitor {
public:
  virtual ~IRVisitor() = default;
  virtual void visit(const Expr& e);
  virtual void visit(const Stmt& s);

protected:
  virtual void visit(const IntImm*) {}
  virtual void visit(const FloatImm*) {}
  virtual void visit(const Var*) {}
  virtual void visit(const Binary* op);
  virtual void visit(const Compare* op);
  virtual void visit(const Logical* op);
  virtual void visit(const Not* op);
  virtual void visit(const Select* op);
  virtual void visit(const Load* op);
  virtual void visit(const Ramp* op);
  virtual void visit(const Broadcast* op);
  virtual void visit(const For* op);
  virtual void visit(const Store* op);
  virtual void visit(const Allocate* op);
  virtual void visit(const IfThenElse* op);
  virtual void visit(const Block* op);
  virtual void visit(const LetStmt* op);
  virtual void visit(const Barrier*) {}
};

/// Rewrites a tree bottom-up. Each default `visit` mutates the children and returns the
/// original node when none changed, so untouched subtrees are shared, not copied.
class IRMutator {
public:
  virtual ~IRMutator() = default;
  virtual Expr mutate(const Expr& e);
  virtual Stmt mutate(const Stmt& s);

protected:
  virtual Expr visit(const IntImm*, const Expr& self) { return self; }
  virtual Expr visit(const FloatImm*, const Expr& self) { return self; }
  virtual Expr visit(const Var*, const Expr& self) { return self; }
  virtual Expr visit(const Binary* op, const Expr& self);
  virtual Expr visit(const Compare* op, const Expr& self);
  virtual Expr visit(const Logical* op, const Expr& self);
  virtual Expr visit(const Not* op, const Expr& self);
  virtual Expr visit(const Select* op, const Expr& self);
  virtual Expr visit(const Load* op, const Expr& self);
  virtual Expr visit(const Ramp* op, const Expr& self);
  virtual Expr visit(const Broadcast* op, const Expr& self);
  virtual Stmt visit(const For* op, const Stmt& self);
  virtual Stmt visit(const Store* op, const Stmt& self);
  virtual Stmt visit(const Allocate* op, const Stmt& self);
  virtual Stmt visit(const IfThenElse* op, const Stmt& self);
  virtual Stmt visit(const Block* op, const Stmt& self);
  virtual Stmt visit(const LetStmt* op, const Stmt& self);
  virtual Stmt visit(const Barrier*, const Stmt& self) { return self; }

  /// Mutates each index; `changed` is set when any differs.
  std::vector<Expr> mutate_all(const std::vector<Expr>& exprs, bool& changed);
};

/// `nest` with `pass` applied to each stage's body: how a pass over statements runs over a
/// whole nest. A body the pass folds away entirely (an undefined result) stays as it was.
LoopNest map_stages(const LoopNest& nest, const std::function<Stmt(const Stmt&)>& pass);

/// Replaces every free occurrence of the variable `name` by `value`.
Expr substitute(const Expr& e, const std::string& name, const Expr& value);
Stmt substitute(const Stmt& s, const std::string& name, const Expr& value);
/// Replaces every let-bound name in `e` by its value, innermost (last) first, so that a let's
/// value that names an outer let is substituted too.
Expr substitute_lets(Expr e, const std::vector<LetBinding>& lets);

/// The names of the variables `e` reads.
std::set<std::string> vars_in(const Expr& e);
/// The loads in `e` (or in `s`), outermost first.
std::vector<const Load*> loads_in(const Expr& e);
std::vector<const Load*> loads_in(const Stmt& s);

/// `e` (or `s`) with each load that `replace` maps to a defined expression replaced by it;
/// `replace` sees the load with its indices already rewritten. Other loads stay.
Expr replace_loads(const Expr& e, const std::function<Expr(const Load*)>& replace);
Stmt replace_loads(const Stmt& s, const std::function<Expr(const Load*)>& replace);

/// `s` with the buffer of every load, store and allocation replaced by `replace(buffer)`.
Stmt replace_buffers(const Stmt& s, const std::function<BufferRef(const BufferRef&)>& replace);

/// True when two expressions compute the same thing by structure (same nodes, same values).
bool equal(const Expr& a, const Expr& b);

} // namespace convtune
