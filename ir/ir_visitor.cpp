/// \file The default traversals of IRVisitor and IRMutator, substitution and structural equality.
#include "ir/ir_visitor.h"

#include "ir/error.h"

namespace convtune {

void IRVisitor::visit(const Expr& e) {
  switch (e.kind()) {
  case NodeKind::IntImm: return visit(e.as<IntImm>());
  case NodeKind::FloatImm: return visit(e.as<FloatImm>());
  case NodeKind::Var: return visit(e.as<Var>());
  case NodeKind::Binary: return visit(e.as<Binary>());
  case NodeKind::Compare: return visit(e.as<Compare>());
  case NodeKind::Logical: return visit(e.as<Logical>());
  case NodeKind::Not: return visit(e.as<Not>());
  case NodeKind::Select: return visit(e.as<Select>());
  case NodeKind::Load: return visit(e.as<Load>());
  case NodeKind::Ramp: return visit(e.as<Ramp>());
  case NodeKind::Broadcast: return visit(e.as<Broadcast>());
  default: throw InternalError("IRVisitor: statement kind in an expression");
  }
}

void IRVisitor::visit(const Stmt& s) {
  switch (s.kind()) {
  case NodeKind::For: return visit(s.as<For>());
  case NodeKind::Store: return visit(s.as<Store>());
  case NodeKind::Allocate: return visit(s.as<Allocate>());
  case NodeKind::IfThenElse: return visit(s.as<IfThenElse>());
  case NodeKind::Block: return visit(s.as<Block>());
  case NodeKind::LetStmt: return visit(s.as<LetStmt>());
  case NodeKind::Barrier: return visit(s.as<Barrier>());
  default: throw InternalError("IRVisitor: expression kind in a statement");
  }
}

void IRVisitor::visit(const Binary* op) { visit(op->a); visit(op->b); }
void IRVisitor::visit(const Compare* op) { visit(op->a); visit(op->b); }
void IRVisitor::visit(const Logical* op) { visit(op->a); visit(op->b); }
void IRVisitor::visit(const Not* op) { visit(op->a); }
void IRVisitor::visit(const Select* op) {
  visit(op->cond);
  visit(op->true_value);
  visit(op->false_value);
}
void IRVisitor::visit(const Load* op) {
  for (const Expr& i : op->indices) visit(i);
}
void IRVisitor::visit(const Ramp* op) { visit(op->base); }
void IRVisitor::visit(const Broadcast* op) { visit(op->value); }
void IRVisitor::visit(const For* op) {
  visit(op->min);
  visit(op->extent);
  visit(op->body);
}
void IRVisitor::visit(const Store* op) {
  for (const Expr& i : op->indices) visit(i);
  visit(op->value);
}
void IRVisitor::visit(const Allocate* op) { visit(op->body); }
void IRVisitor::visit(const IfThenElse* op) {
  visit(op->cond);
  visit(op->then_case);
  if (op->else_case.defined()) visit(op->else_case);
}
void IRVisitor::visit(const Block* op) {
  for (const Stmt& s : op->stmts) visit(s);
}
void IRVisitor::visit(const LetStmt* op) {
  visit(op->value);
  visit(op->body);
}

Expr IRMutator::mutate(const Expr& e) {
  switch (e.kind()) {
  case NodeKind::IntImm: return visit(e.as<IntImm>(), e);
  case NodeKind::FloatImm: return visit(e.as<FloatImm>(), e);
  case NodeKind::Var: return visit(e.as<Var>(), e);
  case NodeKind::Binary: return visit(e.as<Binary>(), e);
  case NodeKind::Compare: return visit(e.as<Compare>(), e);
  case NodeKind::Logical: return visit(e.as<Logical>(), e);
  case NodeKind::Not: return visit(e.as<Not>(), e);
  case NodeKind::Select: return visit(e.as<Select>(), e);
  case NodeKind::Load: return visit(e.as<Load>(), e);
  case NodeKind::Ramp: return visit(e.as<Ramp>(), e);
  case NodeKind::Broadcast: return visit(e.as<Broadcast>(), e);
  default: throw InternalError("IRMutator: statement kind in an expression");
  }
}

Stmt IRMutator::mutate(const Stmt& s) {
  switch (s.kind()) {
  case NodeKind::For: return visit(s.as<For>(), s);
  case NodeKind::Store: return visit(s.as<Store>(), s);
  case NodeKind::Allocate: return visit(s.as<Allocate>(), s);
  case NodeKind::IfThenElse: return visit(s.as<IfThenElse>(), s);
  case NodeKind::Block: return visit(s.as<Block>(), s);
  case NodeKind::LetStmt: return visit(s.as<LetStmt>(), s);
  case NodeKind::Barrier: return visit(s.as<Barrier>(), s);
  default: throw InternalError("IRMutator: expression kind in a statement");
  }
}

std::vector<Expr> IRMutator::mutate_all(const std::vector<Expr>& exprs, bool& changed) {
  std::vector<Expr> out;
  out.reserve(exprs.size());
  for (const Expr& e : exprs) {
    out.push_back(mutate(e));
    changed = changed || !out.back().same_as(e);
  }
  return out;
}

Expr IRMutator::visit(const Binary* op, const Expr& self) {
  Expr a = mutate(op->a), b = mutate(op->b);
  if (a.same_as(op->a) && b.same_as(op->b)) return self;
  return Binary::make(op->op, a, b);
}
Expr IRMutator::visit(const Compare* op, const Expr& self) {
  Expr a = mutate(op->a), b = mutate(op->b);
  if (a.same_as(op->a) && b.same_as(op->b)) return self;
  return Compare::make(op->op, a, b);
}
Expr IRMutator::visit(const Logical* op, const Expr& self) {
  Expr a = mutate(op->a), b = mutate(op->b);
  if (a.same_as(op->a) && b.same_as(op->b)) return self;
  return Logical::make(op->op, a, b);
}
Expr IRMutator::visit(const Not* op, const Expr& self) {
  Expr a = mutate(op->a);
  if (a.same_as(op->a)) return self;
  return Not::make(a);
}
Expr IRMutator::visit(const Select* op, const Expr& self) {
  Expr c = mutate(op->cond), t = mutate(op->true_value), f = mutate(op->false_value);
  if (c.same_as(op->cond) && t.same_as(op->true_value) && f.same_as(op->false_value)) return self;
  return Select::make(c, t, f);
}
Expr IRMutator::visit(const Ramp* op, const Expr& self) {
  Expr b = mutate(op->base);
  if (b.same_as(op->base)) return self;
  return Ramp::make(b, op->stride, op->lanes);
}
Expr IRMutator::visit(const Broadcast* op, const Expr& self) {
  Expr v = mutate(op->value);
  if (v.same_as(op->value)) return self;
  return Broadcast::make(v, op->lanes);
}
Expr IRMutator::visit(const Load* op, const Expr& self) {
  bool changed = false;
  std::vector<Expr> idx = mutate_all(op->indices, changed);
  if (!changed) return self;
  return Load::make(op->buffer, std::move(idx));
}
Stmt IRMutator::visit(const For* op, const Stmt& self) {
  Expr mn = mutate(op->min), ext = mutate(op->extent);
  Stmt body = mutate(op->body);
  if (mn.same_as(op->min) && ext.same_as(op->extent) && body.same_as(op->body)) return self;
  return For::make(op->name, mn, ext, op->for_kind, body);
}
Stmt IRMutator::visit(const Store* op, const Stmt& self) {
  bool changed = false;
  std::vector<Expr> idx = mutate_all(op->indices, changed);
  Expr value = mutate(op->value);
  if (!changed && value.same_as(op->value)) return self;
  return Store::make(op->buffer, std::move(idx), value, op->accumulate);
}
Stmt IRMutator::visit(const Allocate* op, const Stmt& self) {
  Stmt body = mutate(op->body);
  if (body.same_as(op->body)) return self;
  return Allocate::make(op->buffer, body);
}
Stmt IRMutator::visit(const IfThenElse* op, const Stmt& self) {
  Expr c = mutate(op->cond);
  Stmt t = mutate(op->then_case);
  Stmt e = op->else_case.defined() ? mutate(op->else_case) : Stmt();
  if (c.same_as(op->cond) && t.same_as(op->then_case) && e.same_as(op->else_case)) return self;
  return IfThenElse::make(c, t, e);
}
Stmt IRMutator::visit(const Block* op, const Stmt& self) {
  std::vector<Stmt> stmts;
  bool changed = false;
  for (const Stmt& s : op->stmts) {
    stmts.push_back(mutate(s));
    changed = changed || !stmts.back().same_as(s);
  }
  if (!changed) return self;
  return Block::make(std::move(stmts));
}
Stmt IRMutator::visit(const LetStmt* op, const Stmt& self) {
  Expr v = mutate(op->value);
  Stmt body = mutate(op->body);
  if (v.same_as(op->value) && body.same_as(op->body)) return self;
  return LetStmt::make(op->name, v, body);
}

namespace {
/// Replaces a variable, stopping where a loop or let rebinds the same name.
class Substitute : public IRMutator {
public:
  Substitute(const std::string& name, const Expr& value) : name_(name), value_(value) {}
  using IRMutator::mutate;

protected:
  Expr visit(const Var* op, const Expr& self) override { return op->name == name_ ? value_ : self; }
  Stmt visit(const For* op, const Stmt& self) override {
    if (op->name != name_) return IRMutator::visit(op, self);
    Expr mn = mutate(op->min), ext = mutate(op->extent);
    if (mn.same_as(op->min) && ext.same_as(op->extent)) return self;
    return For::make(op->name, mn, ext, op->for_kind, op->body);
  }
  Stmt visit(const LetStmt* op, const Stmt& self) override {
    if (op->name != name_) return IRMutator::visit(op, self);
    Expr v = mutate(op->value);
    if (v.same_as(op->value)) return self;
    return LetStmt::make(op->name, v, op->body);
  }

private:
  const std::string& name_;
  const Expr& value_;
};
} // namespace

Expr substitute(const Expr& e, const std::string& name, const Expr& value) {
  return Substitute(name, value).mutate(e);
}
Expr substitute_lets(Expr e, const std::vector<LetBinding>& lets) {
  for (auto it = lets.rbegin(); it != lets.rend(); ++it) e = substitute(e, it->first, it->second);
  return e;
}

std::set<std::string> vars_in(const Expr& e) {
  struct Collect : IRVisitor {
    std::set<std::string> names;
    using IRVisitor::visit;
    void visit(const Var* v) override { names.insert(v->name); }
  } c;
  c.visit(e);
  return c.names;
}

namespace {

struct CollectLoads : IRVisitor {
  std::vector<const Load*> loads;
  using IRVisitor::visit;
  void visit(const Load* op) override {
    loads.push_back(op);
    IRVisitor::visit(op);
  }
};

class ReplaceLoads : public IRMutator {
public:
  explicit ReplaceLoads(const std::function<Expr(const Load*)>& replace) : replace_(replace) {}
  using IRMutator::mutate;

protected:
  Expr visit(const Load* op, const Expr& self) override {
    Expr out = IRMutator::visit(op, self);
    Expr replaced = replace_(out.as<Load>());
    return replaced.defined() ? replaced : out;
  }

private:
  const std::function<Expr(const Load*)>& replace_;
};

} // namespace

std::vector<const Load*> loads_in(const Expr& e) {
  CollectLoads c;
  c.visit(e);
  return c.loads;
}

std::vector<const Load*> loads_in(const Stmt& s) {
  CollectLoads c;
  c.visit(s);
  return c.loads;
}

Expr replace_loads(const Expr& e, const std::function<Expr(const Load*)>& replace) { return ReplaceLoads(replace).mutate(e); }
Stmt replace_loads(const Stmt& s, const std::function<Expr(const Load*)>& replace) { return ReplaceLoads(replace).mutate(s); }

Stmt substitute(const Stmt& s, const std::string& name, const Expr& value) {
  return Substitute(name, value).mutate(s);
}

Stmt replace_buffers(const Stmt& s, const std::function<BufferRef(const BufferRef&)>& replace) {
  struct Swap : IRMutator {
    const std::function<BufferRef(const BufferRef&)>* replace;
    using IRMutator::mutate;
    Expr visit(const Load* op, const Expr& e) override {
      Expr out = IRMutator::visit(op, e);
      const Load* l = out.as<Load>();
      BufferRef b = (*replace)(l->buffer);
      return b == l->buffer ? out : Load::make(b, l->indices);
    }
    Stmt visit(const Store* op, const Stmt& st) override {
      Stmt out = IRMutator::visit(op, st);
      const Store* s = out.as<Store>();
      BufferRef b = (*replace)(s->buffer);
      return b == s->buffer ? out : Store::make(b, s->indices, s->value, s->accumulate);
    }
    Stmt visit(const Allocate* op, const Stmt& st) override {
      Stmt out = IRMutator::visit(op, st);
      const Allocate* a = out.as<Allocate>();
      BufferRef b = (*replace)(a->buffer);
      return b == a->buffer ? out : Allocate::make(b, a->body);
    }
  } swap;
  swap.replace = &replace;
  return swap.mutate(s);
}

LoopNest map_stages(const LoopNest& nest, const std::function<Stmt(const Stmt&)>& pass) {
  LoopNest out = nest;
  for (NestStage& stage : out.stages) {
    Stmt body = pass(stage.body);
    if (body.defined()) stage.body = body;
  }
  return out;
}

bool equal(const Expr& a, const Expr& b) {
  if (a.same_as(b)) return true;
  if (!a.defined() || !b.defined() || a.kind() != b.kind() || a.type() != b.type() || a.lanes() != b.lanes()) {
    return false;
  }
  switch (a.kind()) {
  case NodeKind::IntImm: return a.as<IntImm>()->value == b.as<IntImm>()->value;
  case NodeKind::FloatImm: return a.as<FloatImm>()->value == b.as<FloatImm>()->value;
  case NodeKind::Var: return a.as<Var>()->name == b.as<Var>()->name;
  case NodeKind::Binary: {
    const Binary *x = a.as<Binary>(), *y = b.as<Binary>();
    return x->op == y->op && equal(x->a, y->a) && equal(x->b, y->b);
  }
  case NodeKind::Compare: {
    const Compare *x = a.as<Compare>(), *y = b.as<Compare>();
    return x->op == y->op && equal(x->a, y->a) && equal(x->b, y->b);
  }
  case NodeKind::Logical: {
    const Logical *x = a.as<Logical>(), *y = b.as<Logical>();
    return x->op == y->op && equal(x->a, y->a) && equal(x->b, y->b);
  }
  case NodeKind::Not: return equal(a.as<Not>()->a, b.as<Not>()->a);
  case NodeKind::Select: {
    const Select *x = a.as<Select>(), *y = b.as<Select>();
    return equal(x->cond, y->cond) && equal(x->true_value, y->true_value) &&
           equal(x->false_value, y->false_value);
  }
  case NodeKind::Load: {
    const Load *x = a.as<Load>(), *y = b.as<Load>();
    if (x->buffer != y->buffer || x->indices.size() != y->indices.size()) return false;
    for (size_t i = 0; i < x->indices.size(); ++i) {
      if (!equal(x->indices[i], y->indices[i])) return false;
    }
    return true;
  }
  case NodeKind::Ramp: {
    const Ramp *x = a.as<Ramp>(), *y = b.as<Ramp>();
    return x->stride == y->stride && equal(x->base, y->base);
  }
  case NodeKind::Broadcast: return equal(a.as<Broadcast>()->value, b.as<Broadcast>()->value);
  default: return false;
  }
}

} // namespace convtune
