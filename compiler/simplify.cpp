/// \file The simplifier: a mutator that rewrites bottom-up with a scope of variable ranges.
#include "compiler/simplify.h"

#include <algorithm>

#include <optional>

#include "ir/ir_visitor.h"

namespace convtune {

namespace {

bool is_const(const Expr& e, int64_t& v) {
  if (const IntImm* i = e.as<IntImm>()) {
    v = i->value;
    return true;
  }
  return false;
}

Expr make_bool(bool v) { return Compare::make(v ? CompareOp::EQ : CompareOp::NE, Expr(0), Expr(0)); }

/// 1 if `e` is a comparison that is known true, 0 if known false, -1 otherwise.
int known_truth(const Expr& e) {
  const Compare* c = e.as<Compare>();
  if (!c) return -1;
  int64_t a, b;
  if (!is_const(c->a, a) || !is_const(c->b, b)) return -1;
  switch (c->op) {
  case CompareOp::EQ: return a == b;
  case CompareOp::NE: return a != b;
  case CompareOp::LT: return a < b;
  case CompareOp::LE: return a <= b;
  case CompareOp::GT: return a > b;
  case CompareOp::GE: return a >= b;
  }
  return -1;
}

class Simplifier : public IRMutator {
public:
  explicit Simplifier(VarRanges ranges) : ranges_(std::move(ranges)) {}
  using IRMutator::mutate;

protected:
  Expr visit(const Binary* op, const Expr& self) override {
    Expr a = mutate(op->a), b = mutate(op->b);
    if (op->type == ScalarType::Int) {
      Expr folded = fold_int(op->op, a, b);
      if (folded.defined()) return folded;
    } else {
      Expr folded = fold_float(op->op, a, b);
      if (folded.defined()) return op->lanes > 1 && folded.lanes() == 1 ? Broadcast::make(folded, op->lanes) : folded;
    }
    if (a.same_as(op->a) && b.same_as(op->b)) return self;
    return Binary::make(op->op, a, b);
  }

  /// An element of a constant table at constant indices is its value (what unrolling a
  /// transform's loops leaves: its coefficients, many of them 0 or 1).
  Expr visit(const Load* op, const Expr& self) override {
    Expr out = IRMutator::visit(op, self);
    const Load* l = out.as<Load>();
    if (l->buffer->scope != MemoryScope::Constant || l->lanes != 1) return out;
    // A table of one value everywhere is that value, wherever it is read (a sparse pattern's
    // column phases at stride 1).
    const std::vector<double>& values = l->buffer->values;
    if (!values.empty() && std::all_of(values.begin(), values.end(), [&](double v) { return v == values.front(); })) {
      return l->type == ScalarType::Int ? Expr(int64_t(values.front())) : FloatImm::make(values.front());
    }
    int64_t flat = 0;
    for (size_t d = 0; d < l->indices.size(); ++d) {
      int64_t i = 0;
      if (!is_const(l->indices[d], i)) return out;
      flat = flat * l->buffer->shape[d] + i;
    }
    const double value = l->buffer->values[size_t(flat)];
    return l->type == ScalarType::Int ? Expr(int64_t(value)) : FloatImm::make(value);
  }

  /// A fold of a zero (a term whose coefficient is 0) does nothing.
  Stmt visit(const Store* op, const Stmt& self) override {
    Stmt out = IRMutator::visit(op, self);
    const Store* s = out.as<Store>();
    if (s->accumulate && is_float_const(s->value, 0.0)) return Stmt();
    return out;
  }

  Expr visit(const Compare* op, const Expr& self) override {
    Expr a = mutate(op->a), b = mutate(op->b);
    if (a.type() == ScalarType::Int) {
      Interval x = bounds_of(a, ranges_), y = bounds_of(b, ranges_);
      int verdict = -1;
      switch (op->op) {
      case CompareOp::LT: verdict = x.hi < y.lo ? 1 : (x.lo >= y.hi ? 0 : -1); break;
      case CompareOp::LE: verdict = x.hi <= y.lo ? 1 : (x.lo > y.hi ? 0 : -1); break;
      case CompareOp::GT: verdict = x.lo > y.hi ? 1 : (x.hi <= y.lo ? 0 : -1); break;
      case CompareOp::GE: verdict = x.lo >= y.hi ? 1 : (x.hi < y.lo ? 0 : -1); break;
      case CompareOp::EQ: verdict = (x.is_point() && y.is_point()) ? x.lo == y.lo : -1; break;
      case CompareOp::NE: verdict = (x.is_point() && y.is_point()) ? x.lo != y.lo : -1; break;
      }
      if (verdict >= 0) {
        // Known in every lane: a vector comparison becomes the verdict in every lane.
        Expr known = make_bool(verdict == 1);
        return a.lanes() > 1 ? Broadcast::make(known, a.lanes()) : known;
      }
    }
    if (a.same_as(op->a) && b.same_as(op->b)) return self;
    return Compare::make(op->op, a, b);
  }

  Expr visit(const Logical* op, const Expr& self) override {
    Expr a = mutate(op->a), b = mutate(op->b);
    int ta = known_truth(a), tb = known_truth(b);
    if (op->op == LogicalOp::And) {
      if (ta == 0 || tb == 0) return make_bool(false);
      if (ta == 1) return b;
      if (tb == 1) return a;
    } else {
      if (ta == 1 || tb == 1) return make_bool(true);
      if (ta == 0) return b;
      if (tb == 0) return a;
    }
    if (a.same_as(op->a) && b.same_as(op->b)) return self;
    return Logical::make(op->op, a, b);
  }

  Expr visit(const Select* op, const Expr& self) override {
    Expr c = mutate(op->cond);
    int t = known_truth(c);
    if (t == 1) return mutate(op->true_value);
    if (t == 0) return mutate(op->false_value);
    return IRMutator::visit(op, self);
  }

  Stmt visit(const For* op, const Stmt& self) override {
    Expr mn = mutate(op->min), ext = mutate(op->extent);
    Interval e = bounds_of(ext, ranges_);
    if (e.hi <= 0) return Stmt();
    Stmt body = scoped(op->name, loop_range(bounds_of(mn, ranges_), e), op->body);
    if (!body.defined()) return Stmt();
    if (mn.same_as(op->min) && ext.same_as(op->extent) && body.same_as(op->body)) return self;
    return For::make(op->name, mn, ext, op->for_kind, body);
  }

  Stmt visit(const LetStmt* op, const Stmt& self) override {
    Expr v = mutate(op->value);
    Stmt body = scoped(op->name, bounds_of(v, ranges_), op->body);
    if (!body.defined()) return Stmt();
    if (v.same_as(op->value) && body.same_as(op->body)) return self;
    return LetStmt::make(op->name, v, body);
  }

  Stmt visit(const IfThenElse* op, const Stmt& self) override {
    Expr c = mutate(op->cond);
    int t = known_truth(c);
    if (t == 1) return mutate(op->then_case);
    if (t == 0) return op->else_case.defined() ? mutate(op->else_case) : Stmt();
    VarRanges outer = ranges_;
    ranges_ = assume(c, outer);
    Stmt then_case = mutate(op->then_case);
    ranges_ = outer;
    Stmt else_case = op->else_case.defined() ? mutate(op->else_case) : Stmt();
    if (!then_case.defined()) {
      if (!else_case.defined()) return Stmt();
      return IfThenElse::make(Not::make(c), else_case);
    }
    if (c.same_as(op->cond) && then_case.same_as(op->then_case) && else_case.same_as(op->else_case)) return self;
    return IfThenElse::make(c, then_case, else_case);
  }

  Stmt visit(const Block* op, const Stmt& self) override {
    std::vector<Stmt> stmts;
    bool changed = false;
    for (const Stmt& s : op->stmts) {
      Stmt m = mutate(s);
      changed = changed || !m.same_as(s);
      if (m.defined()) stmts.push_back(m);
    }
    if (!changed) return self;
    if (stmts.empty()) return Stmt();
    return Block::make(std::move(stmts));
  }

  Stmt visit(const Allocate* op, const Stmt& self) override {
    Stmt body = mutate(op->body);
    if (!body.defined()) return Stmt();
    if (body.same_as(op->body)) return self;
    return Allocate::make(op->buffer, body);
  }

private:
  Stmt scoped(const std::string& name, Interval range, const Stmt& body) {
    auto saved = ranges_.find(name) != ranges_.end() ? std::optional<Interval>(ranges_[name]) : std::nullopt;
    ranges_[name] = range;
    Stmt out = mutate(body);
    if (saved) ranges_[name] = *saved; else ranges_.erase(name);
    return out;
  }

  /// A float constant, or a vector of one (a coefficient the vectorizer broadcast).
  static const FloatImm* float_const(const Expr& e) {
    if (const Broadcast* b = e.as<Broadcast>()) return b->value.as<FloatImm>();
    return e.as<FloatImm>();
  }
  static bool is_float_const(const Expr& e, double v) {
    const FloatImm* f = float_const(e);
    return f && f->value == v;
  }

  /// Float arithmetic with constants (scalars or their broadcasts): a product of two (rounded
  /// to float, as the code would compute it: the coefficient of a product of table entries), a
  /// product with 0 (the IR's float math is finite: a zero coefficient removes its term) or 1,
  /// a sum with 0.
  Expr fold_float(BinaryOp op, const Expr& a, const Expr& b) {
    const FloatImm* x = float_const(a);
    const FloatImm* y = float_const(b);
    if (x && y && op == BinaryOp::Mul) return FloatImm::make(double(float(x->value) * float(y->value)));
    if (op == BinaryOp::Mul) {
      if (is_float_const(a, 0.0) || is_float_const(b, 0.0)) return FloatImm::make(0.0);
      if (is_float_const(a, 1.0)) return b;
      if (is_float_const(b, 1.0)) return a;
    }
    if (op == BinaryOp::Add) {
      if (is_float_const(a, 0.0)) return b;
      if (is_float_const(b, 0.0)) return a;
    }
    return Expr();
  }

  /// The folded form of `a op b`, or an undefined Expr when nothing simplifies.
  Expr fold_int(BinaryOp op, const Expr& a, const Expr& b) {
    int64_t x = 0, y = 0;
    const bool ca = is_const(a, x), cb = is_const(b, y);
    switch (op) {
    case BinaryOp::Add:
      if (ca && cb) return Expr(x + y);
      if (ca && x == 0) return b;
      if (cb && y == 0) return a;
      if (cb) return add_constant(a, y);
      if (ca) return add_constant(b, x);
      break;
    case BinaryOp::Sub:
      if (ca && cb) return Expr(x - y);
      if (cb && y == 0) return a;
      if (cb) return add_constant(a, -y);
      if (equal(a, b)) return Expr(0);
      break;
    case BinaryOp::Mul:
      if (ca && cb) return Expr(x * y);
      if ((ca && x == 0) || (cb && y == 0)) return Expr(0);
      if (ca && x == 1) return b;
      if (cb && y == 1) return a;
      if (ca) return Binary::make(BinaryOp::Mul, b, a);  // constants to the right
      break;
    case BinaryOp::Div:
    case BinaryOp::Mod: {
      if (cb && y == 1) return op == BinaryOp::Div ? a : Expr(0);
      if (ca && cb && y != 0) return Expr(op == BinaryOp::Div ? floor_div(x, y) : floor_mod(x, y));
      if (cb && y > 0) return div_mod_linear(op, a, y);
      break;
    }
    case BinaryOp::Min:
    case BinaryOp::Max: {
      Interval ia = bounds_of(a, ranges_), ib = bounds_of(b, ranges_);
      const bool is_min = op == BinaryOp::Min;
      if (ia.hi <= ib.lo) return is_min ? a : b;
      if (ib.hi <= ia.lo) return is_min ? b : a;
      if (equal(a, b)) return a;
      break;
    }
    }
    return Expr();
  }

  /// A sum of terms with integer coefficients plus a constant.
  struct Linear {
    std::vector<std::pair<Expr, int64_t>> terms;
    int64_t constant = 0;
  };

  static void linearize(const Expr& e, int64_t scale, Linear& out) {
    int64_t c = 0;
    if (is_const(e, c)) {
      out.constant += scale * c;
      return;
    }
    if (const Binary* b = e.as<Binary>()) {
      if (b->op == BinaryOp::Add) { linearize(b->a, scale, out); linearize(b->b, scale, out); return; }
      if (b->op == BinaryOp::Sub) { linearize(b->a, scale, out); linearize(b->b, -scale, out); return; }
      if (b->op == BinaryOp::Mul && is_const(b->b, c)) { linearize(b->a, scale * c, out); return; }
    }
    out.terms.push_back({e, scale});
  }

  static Expr rebuild(const std::vector<std::pair<Expr, int64_t>>& terms, int64_t constant) {
    Expr sum;
    for (const auto& [t, c] : terms) {
      Expr term = c == 1 ? t : Binary::make(BinaryOp::Mul, t, Expr(c));
      sum = sum.defined() ? Binary::make(BinaryOp::Add, sum, term) : term;
    }
    if (!sum.defined()) return Expr(constant);
    return add_constant(sum, constant);
  }

  /// `e / m` and `e % m` for a constant m > 0: terms whose coefficients are multiples of m
  /// leave the modulo and divide exactly; when the rest is known to stay within one multiple
  /// of m, the division of the rest is a constant. E.g. (a*16 + b) / 16 with b in [0, 16)
  /// is a, and % 16 is b. Undefined when nothing simplifies.
  Expr div_mod_linear(BinaryOp op, const Expr& e, int64_t m) {
    Linear lin;
    linearize(e, 1, lin);
    std::vector<std::pair<Expr, int64_t>> whole, rest;
    for (const auto& t : lin.terms) (t.second % m == 0 ? whole : rest).push_back(t);
    // With no whole terms the rest is `e` itself: kept as it is, it stays shared.
    Expr rest_expr = whole.empty() ? e : rebuild(rest, lin.constant);
    Interval ir = bounds_of(rest_expr, ranges_);
    if (!ir.bounded()) return Expr();
    const int64_t qlo = floor_div(ir.lo, m), qhi = floor_div(ir.hi, m);
    if (qlo != qhi) return Expr();
    if (op == BinaryOp::Mod) return add_constant(rest_expr, -qlo * m);
    std::vector<std::pair<Expr, int64_t>> quotient;
    for (const auto& [t, c] : whole) quotient.push_back({t, c / m});
    return rebuild(quotient, qlo);
  }

  /// `e + c`, merging c into a constant already at the top of `e`.
  static Expr add_constant(const Expr& e, int64_t c) {
    if (c == 0) return e;
    if (const Binary* b = e.as<Binary>()) {
      int64_t inner;
      if (b->op == BinaryOp::Add && is_const(b->b, inner)) return add_constant(b->a, inner + c);
      if (b->op == BinaryOp::Sub && is_const(b->b, inner)) return add_constant(b->a, c - inner);
    }
    return c > 0 ? Binary::make(BinaryOp::Add, e, Expr(c)) : Binary::make(BinaryOp::Sub, e, Expr(-c));
  }

  VarRanges ranges_;
};

} // namespace

Expr simplify(const Expr& e, const VarRanges& ranges) { return Simplifier(ranges).mutate(e); }

Stmt simplify(const Stmt& s) { return Simplifier({}).mutate(s); }

// A stage whose every statement folded away does nothing: map_stages keeps a well-formed body.
LoopNest simplify(const LoopNest& nest) { return map_stages(nest, [](const Stmt& s) { return simplify(s); }); }

} // namespace convtune
