/// \file The unroll pass.
#include "compiler/unroll_loops.h"

#include "ir/error.h"
#include "ir/interval.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

class Unroll : public IRMutator {
public:
  using IRMutator::mutate;

protected:
  Stmt visit(const For* op, const Stmt& self) override {
    Stmt body = mutate(op->body);  // inner loops first: each copy then holds no unrolled loop
    if (op->for_kind != ForKind::Unrolled) {
      return body.same_as(op->body) ? self : For::make(op->name, op->min, op->extent, op->for_kind, body);
    }
    int64_t extent = 0;
    internal_check(constant_value(op->extent, extent) && extent >= 1,
                   "unroll_loops: unrolled loop '" + op->name + "' has a non-constant extent");
    std::vector<Stmt> copies;
    int64_t min = 0;
    const bool constant_min = constant_value(op->min, min);
    for (int64_t i = 0; i < extent; ++i) {
      Expr value = constant_min ? Expr(min + i) : op->min + Expr(i);
      copies.push_back(substitute(body, op->name, value));
    }
    return Block::make(copies);
  }
};

} // namespace

Stmt unroll_loops(const Stmt& s) { return Unroll().mutate(s); }

LoopNest unroll_loops(const LoopNest& nest) { return map_stages(nest, [](const Stmt& s) { return unroll_loops(s); }); }

} // namespace convtune
