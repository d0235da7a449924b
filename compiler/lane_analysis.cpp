/// \file Lane analysis of vectorized loops: which values vary across lanes, with what affine
/// stride, and whether a loop body can be widened. Needs no LLVM; codegen asks it.
#include "compiler/lane_analysis.h"

#include "ir/interval.h"
#include "ir/ir_visitor.h"

namespace convtune {

/// True when an expression's value is the same in every lane.
bool uniform(const Expr& e, const LaneInfo& lanes) {
  bool varying = false;
  struct Finder : IRVisitor {
    const LaneInfo* lanes;
    bool* varying;
    void visit(const Var* v) override {
      if (lanes->strides.count(v->name)) *varying = true;
    }
    using IRVisitor::visit;
  } f;
  f.lanes = &lanes;
  f.varying = &varying;
  f.IRVisitor::visit(e);
  return !varying;
}

/// The per-lane stride of an integer expression: 0 when uniform, nullopt when not affine.
std::optional<int64_t> lane_stride(const Expr& e, const LaneInfo& lanes) {
  switch (e.kind()) {
  case NodeKind::IntImm: return 0;
  case NodeKind::Var: {
    auto it = lanes.strides.find(e.as<Var>()->name);
    return it == lanes.strides.end() ? 0 : it->second;
  }
  case NodeKind::Binary: {
    const Binary* b = e.as<Binary>();
    auto sa = lane_stride(b->a, lanes), sb = lane_stride(b->b, lanes);
    if (!sa || !sb) return std::nullopt;
    if (*sa == 0 && *sb == 0) return 0;
    int64_t c = 0;
    switch (b->op) {
    case BinaryOp::Add: return *sa + *sb;
    case BinaryOp::Sub: return *sa - *sb;
    case BinaryOp::Mul:
      if (*sb == 0 && constant_value(b->b, c)) return *sa * c;
      if (*sa == 0 && constant_value(b->a, c)) return *sb * c;
      return std::nullopt;
    default: return std::nullopt;
    }
  }
  case NodeKind::Select: {
    const Select* s = e.as<Select>();
    auto sc = lane_stride(s->cond, lanes), st = lane_stride(s->true_value, lanes),
         sf = lane_stride(s->false_value, lanes);
    if (sc && *sc == 0 && st && sf && *st == *sf) return *st;
    return std::nullopt;
  }
  case NodeKind::Compare:
  case NodeKind::Logical:
  case NodeKind::Not:
  case NodeKind::Load:  // an index table's entry: the same in every lane when its indices are
    // Booleans: uniform or not; a varying comparison has no stride.
    if (uniform(e, lanes)) return 0;
    return std::nullopt;
  default: return std::nullopt;
  }
}

int64_t flat_stride(const Buffer& b, const std::vector<Expr>& idx, const LaneInfo& lanes, bool& affine) {
  int64_t stride = 0, mult = 1;
  affine = true;
  for (size_t d = idx.size(); d-- > 0;) {
    auto s = lane_stride(idx[d], lanes);
    if (!s) {
      affine = false;
      return 0;
    }
    stride += *s * mult;
    mult *= b.shape[d];
  }
  return stride;
}

namespace {

/// Can the body of a vectorized loop be widened? Control flow must be uniform across lanes,
/// integer index math affine in the lane, and a store's address must differ per lane (a
/// shared address would be a reduction across lanes).
class VectorizeCheck : public IRVisitor {
public:
  explicit VectorizeCheck(LaneInfo lanes) : lanes_(std::move(lanes)) {}
  bool ok = true;
  using IRVisitor::visit;

protected:
  void visit(const For* op) override {
    if (!uniform(op->min, lanes_) || !uniform(op->extent, lanes_) || op->for_kind == ForKind::Parallel ||
        op->for_kind == ForKind::Vectorized) {
      ok = false;
      return;
    }
    IRVisitor::visit(op);
  }
  void visit(const IfThenElse* op) override {
    if (!uniform(op->cond, lanes_)) ok = false;
    IRVisitor::visit(op);
  }
  void visit(const Allocate*) override { ok = false; }
  void visit(const LetStmt* op) override {
    auto s = lane_stride(op->value, lanes_);
    if (!s) {
      ok = false;  // the body cannot be widened: nothing below changes that
      return;
    }
    if (*s != 0) lanes_.strides[op->name] = *s;
    IRVisitor::visit(op);
    lanes_.strides.erase(op->name);
  }
  void visit(const Expr& e) override {
    // Every varying integer must be affine in the lane: it is carried as lane 0 plus a stride.
    if (e.type() == ScalarType::Int && !lane_stride(e, lanes_)) ok = false;
    IRVisitor::visit(e);
  }
  void visit(const Load* op) override {
    bool affine = true;
    flat_stride(*op->buffer, op->indices, lanes_, affine);
    if (!affine) ok = false;
    IRVisitor::visit(op);
  }
  void visit(const Store* op) override {
    bool affine = true;
    int64_t stride = flat_stride(*op->buffer, op->indices, lanes_, affine);
    if (!affine || stride == 0) ok = false;
    // Lanes of a strided store could overlap if |stride| < 1; only distinct addresses pass.
    IRVisitor::visit(op);
  }

private:
  LaneInfo lanes_;
};

} // namespace

bool can_widen(const Stmt& body, const LaneInfo& lanes) {
  VectorizeCheck check(lanes);
  check.visit(body);
  return check.ok;
}

} // namespace convtune
