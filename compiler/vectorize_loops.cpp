/// \file The vectorize pass (see the header).
#include "compiler/vectorize_loops.h"

#include <map>

#include "compiler/lane_analysis.h"
#include "ir/error.h"
#include "ir/interval.h"
#include "ir/ir_printer.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

/// `e` with `lanes` lanes: itself when it has them, else its scalar repeated.
Expr widen_to(const Expr& e, int lanes) { return e.lanes() == lanes ? e : Broadcast::make(e, lanes); }

/// An integer over the lanes as lane 0's value and a constant step per lane.
struct Affine {
  Expr base;
  int64_t stride = 0;
};

Affine affine_of(const Expr& e) {
  if (const Ramp* r = e.as<Ramp>()) return {r->base, r->stride};
  if (const Broadcast* b = e.as<Broadcast>()) return {b->value, 0};
  internal_check(e.lanes() == 1, "vectorize_loops: a vector integer that is neither ramp nor broadcast");
  return {e, 0};
}

/// The canonical vector form of an affine integer: a ramp, or the scalar when every lane agrees.
Expr make_affine(const Affine& a, int lanes) { return a.stride == 0 ? a.base : Ramp::make(a.base, a.stride, lanes); }

/// Rewrites the body of one widened loop: the loop variable and the varying lets map to their
/// vector values; every node over a vector operand gets the loop's lanes.
class Widen : public IRMutator {
public:
  Widen(const std::string& var, const Expr& min, int lanes) : lanes_(lanes) {
    vectors_[var] = Ramp::make(min, 1, lanes);
  }
  using IRMutator::mutate;

protected:
  Expr visit(const Var* op, const Expr& self) override {
    auto it = vectors_.find(op->name);
    return it == vectors_.end() ? self : it->second;
  }

  Expr visit(const Binary* op, const Expr& self) override {
    Expr a = mutate(op->a), b = mutate(op->b);
    if (a.lanes() == 1 && b.lanes() == 1) {
      return a.same_as(op->a) && b.same_as(op->b) ? self : Binary::make(op->op, a, b);
    }
    if (op->type == ScalarType::Float) return Binary::make(op->op, widen_to(a, lanes_), widen_to(b, lanes_));
    // Integers stay affine (lane_analysis checked they are): fold the op into base and stride.
    const Affine x = affine_of(a), y = affine_of(b);
    int64_t c = 0;
    switch (op->op) {
    case BinaryOp::Add: return make_affine({x.base + y.base, x.stride + y.stride}, lanes_);
    case BinaryOp::Sub: return make_affine({x.base - y.base, x.stride - y.stride}, lanes_);
    case BinaryOp::Mul:
      if (y.stride == 0 && constant_value(y.base, c)) return make_affine({x.base * y.base, x.stride * c}, lanes_);
      if (x.stride == 0 && constant_value(x.base, c)) return make_affine({x.base * y.base, y.stride * c}, lanes_);
      break;
    default: break;
    }
    throw InternalError("vectorize_loops: integer " + to_text(self) + " is not affine in the lane");
  }

  Expr visit(const Compare* op, const Expr& self) override {
    Expr a = mutate(op->a), b = mutate(op->b);
    if (a.lanes() == 1 && b.lanes() == 1) return a.same_as(op->a) && b.same_as(op->b) ? self : Compare::make(op->op, a, b);
    return Compare::make(op->op, widen_to(a, lanes_), widen_to(b, lanes_));
  }

  Expr visit(const Logical* op, const Expr& self) override {
    Expr a = mutate(op->a), b = mutate(op->b);
    if (a.lanes() == 1 && b.lanes() == 1) return a.same_as(op->a) && b.same_as(op->b) ? self : Logical::make(op->op, a, b);
    return Logical::make(op->op, widen_to(a, lanes_), widen_to(b, lanes_));
  }

  Expr visit(const Select* op, const Expr& self) override {
    Expr c = mutate(op->cond), t = mutate(op->true_value), f = mutate(op->false_value);
    if (c.lanes() == 1 && t.lanes() == 1 && f.lanes() == 1) return IRMutator::visit(op, self);
    if (op->type == ScalarType::Int) {
      // A uniform choice between integers of one stride (what lane_analysis admits).
      const Affine x = affine_of(t), y = affine_of(f);
      internal_check(c.lanes() == 1 && x.stride == y.stride, "vectorize_loops: a varying integer select");
      return make_affine({Select::make(c, x.base, y.base), x.stride}, lanes_);
    }
    return Select::make(c, widen_to(t, lanes_), widen_to(f, lanes_));
  }

  Stmt visit(const Store* op, const Stmt& self) override {
    bool changed = false;
    std::vector<Expr> idx = mutate_all(op->indices, changed);
    Expr value = mutate(op->value);
    bool vector = false;
    for (const Expr& i : idx) vector = vector || i.lanes() > 1;
    internal_check(vector, "vectorize_loops: the lanes of a store to " + op->buffer->name + " share one address");
    return Store::make(op->buffer, idx, widen_to(value, lanes_), op->accumulate);
  }

  Stmt visit(const LetStmt* op, const Stmt& self) override {
    Expr value = mutate(op->value);
    if (value.lanes() == 1) {
      // A uniform let shadows a varying name of the same spelling inside its body.
      auto shadowed = vectors_.extract(op->name);
      Stmt body = mutate(op->body);
      if (!shadowed.empty()) vectors_.insert(std::move(shadowed));
      if (value.same_as(op->value) && body.same_as(op->body)) return self;
      return LetStmt::make(op->name, value, body);
    }
    // A varying integer: its ramp replaces the name where it is used.
    auto saved = vectors_.extract(op->name);
    vectors_[op->name] = value;
    Stmt body = mutate(op->body);
    vectors_.erase(op->name);
    if (!saved.empty()) vectors_.insert(std::move(saved));
    return body;
  }

private:
  int lanes_;
  std::map<std::string, Expr> vectors_;
};

class VectorizeLoops : public IRMutator {
public:
  using IRMutator::mutate;

protected:
  Stmt visit(const For* op, const Stmt& self) override {
    Stmt body = mutate(op->body);  // inner loops first
    if (op->for_kind != ForKind::Vectorized) {
      return body.same_as(op->body) ? self : For::make(op->name, op->min, op->extent, op->for_kind, body);
    }
    int64_t lanes = 0;
    internal_check(constant_value(op->extent, lanes) && lanes >= 1,
                   "vectorize_loops: vectorized loop '" + op->name + "' has a non-constant extent");
    LaneInfo info;
    info.lanes = int(lanes);
    info.strides[op->name] = 1;
    if (lanes == 1 || !can_widen(body, info)) return For::make(op->name, op->min, op->extent, ForKind::Unrolled, body);
    // Power-of-two pieces (48 lanes as 32 then 16): LLVM legalizes a vector of another length
    // into a stream of shuffles (a 48-lane tile ran 20x slower than a 32-lane one).
    std::vector<Stmt> pieces;
    int64_t done = 0;
    while (done < lanes) {
      int64_t piece = 1;
      while (piece * 2 <= lanes - done) piece *= 2;
      int64_t first = 0;
      const Expr start = done == 0 ? op->min : constant_value(op->min, first) ? Expr(first + done) : op->min + Expr(done);
      pieces.push_back(piece == 1 ? substitute(body, op->name, start) : Widen(op->name, start, int(piece)).mutate(body));
      done += piece;
    }
    return Block::make(pieces);
  }
};

} // namespace

Stmt vectorize_loops(const Stmt& s) { return VectorizeLoops().mutate(s); }

LoopNest vectorize_loops(const LoopNest& nest) { return map_stages(nest, [](const Stmt& s) { return vectorize_loops(s); }); }

} // namespace convtune
