/// \file Guards on the sides of a boundary tensor the reads can cross.
#include "compiler/padding.h"

#include "compiler/scoped_mutator.h"

namespace convtune {

namespace {

class GuardPadding : public ScopedMutator {
public:
  explicit GuardPadding(BufferRef boundary) : boundary_(std::move(boundary)) {}

protected:
  using ScopedMutator::visit;

  Stmt visit(const IfThenElse* op, const Stmt& self) override {
    return join_guards(op, ScopedMutator::visit(op, self), /*own_first=*/true);
  }

  Stmt visit(const Store* op, const Stmt& self) override {
    const Load* read = nullptr;
    for (const Load* l : loads_in(op->value)) {
      if (!read && l->buffer == boundary_) read = l;
    }
    if (!read) return self;
    std::vector<Expr> sides;
    for (size_t d = 0; d < read->indices.size(); ++d) {
      const Expr& i = read->indices[d];
      const Interval range = bounds_of(i, scope_.ranges);
      if (range.lo < 0) sides.push_back(i >= Expr(0));
      if (range.hi >= read->buffer->shape[d]) sides.push_back(i < Expr(read->buffer->shape[d]));
    }
    return sides.empty() ? self : IfThenElse::make(all_of(sides), self);
  }

private:
  BufferRef boundary_;
};

} // namespace

LoopNest guard_padding(const LoopNest& nest) {
  LoopNest out = nest;
  for (NestStage& stage : out.stages) {
    if (stage.boundary) stage.body = GuardPadding(stage.boundary).mutate(stage.body);
  }
  return out;
}

} // namespace convtune
