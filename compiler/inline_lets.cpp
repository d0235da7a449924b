/// \file The let-inlining pass.
#include "compiler/inline_lets.h"

#include "ir/ir_visitor.h"

namespace convtune {

namespace {

bool affine(const Expr& e) {
  if (e.lanes() != 1 || e.type() != ScalarType::Int) return false;
  if (e.as<IntImm>() || e.as<Var>()) return true;
  const Binary* b = e.as<Binary>();
  if (!b) return false;
  if (b->op == BinaryOp::Add || b->op == BinaryOp::Sub) return affine(b->a) && affine(b->b);
  if (b->op == BinaryOp::Mul) return (b->a.as<IntImm>() && affine(b->b)) || (b->b.as<IntImm>() && affine(b->a));
  return false;
}

class InlineLets : public IRMutator {
public:
  using IRMutator::mutate;

protected:
  Stmt visit(const LetStmt* op, const Stmt& self) override {
    Stmt body = mutate(op->body);  // inner lets first
    if (affine(op->value)) return substitute(body, op->name, op->value);
    return body.same_as(op->body) ? self : LetStmt::make(op->name, op->value, body);
  }
};

} // namespace

Stmt inline_affine_lets(const Stmt& s) { return InlineLets().mutate(s); }

LoopNest inline_affine_lets(const LoopNest& nest) {
  return map_stages(nest, [](const Stmt& s) { return inline_affine_lets(s); });
}

} // namespace convtune
