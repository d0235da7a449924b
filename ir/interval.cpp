/// \file Interval arithmetic with saturation: an unknown end stays unknown, never wraps.
#include "ir/interval.h"

#include <algorithm>

#include "ir/error.h"

namespace convtune {

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

/// Clamps a 128-bit result back into int64, where the ends mean "unknown".
int64_t saturate(__int128 v) {
  if (v <= kMin) return kMin;
  if (v >= kMax) return kMax;
  return int64_t(v);
}

Interval add(Interval a, Interval b) {
  Interval r;
  r.lo = (a.has_lower() && b.has_lower()) ? saturate(__int128(a.lo) + b.lo) : kMin;
  r.hi = (a.has_upper() && b.has_upper()) ? saturate(__int128(a.hi) + b.hi) : kMax;
  return r;
}

Interval negate(Interval a) {
  Interval r;
  r.lo = a.has_upper() ? -a.hi : kMin;
  r.hi = a.has_lower() ? -a.lo : kMax;
  return r;
}

Interval mul(Interval a, Interval b) {
  if (!a.bounded() || !b.bounded()) {
    // A known sign still bounds one side: only multiplication by a non-negative constant
    // matters in index math, so keep that case exact and give up otherwise.
    if (b.is_point() && b.lo >= 0) {
      Interval r;
      r.lo = a.has_lower() ? saturate(__int128(a.lo) * b.lo) : (b.lo == 0 ? 0 : kMin);
      r.hi = a.has_upper() ? saturate(__int128(a.hi) * b.lo) : (b.lo == 0 ? 0 : kMax);
      return r;
    }
    if (a.is_point()) return mul(b, a);
    return Interval::everything();
  }
  __int128 c[4] = {__int128(a.lo) * b.lo, __int128(a.lo) * b.hi, __int128(a.hi) * b.lo,
                   __int128(a.hi) * b.hi};
  return {saturate(*std::min_element(c, c + 4)), saturate(*std::max_element(c, c + 4))};
}

Interval div(Interval a, Interval b) {
  if (!b.bounded() || (b.lo <= 0 && b.hi >= 0)) return Interval::everything();
  if (!a.bounded()) {
    if (b.lo > 0 && b.is_point()) {
      Interval r;
      r.lo = a.has_lower() ? floor_div(a.lo, b.lo) : kMin;
      r.hi = a.has_upper() ? floor_div(a.hi, b.lo) : kMax;
      return r;
    }
    return Interval::everything();
  }
  int64_t c[4] = {floor_div(a.lo, b.lo), floor_div(a.lo, b.hi), floor_div(a.hi, b.lo),
                  floor_div(a.hi, b.hi)};
  return {*std::min_element(c, c + 4), *std::max_element(c, c + 4)};
}

Interval mod(Interval a, Interval b) {
  if (!b.bounded() || b.lo <= 0) return Interval::everything();
  // Floor modulo by a positive divisor lies in [0, divisor - 1]; a range already inside
  // [0, b.lo - 1] is left as is.
  if (a.bounded() && a.lo >= 0 && a.hi < b.lo) return a;
  // Two constants: the exact remainder.
  if (a.is_point() && b.is_point()) return Interval::point(floor_mod(a.lo, b.lo));
  return {0, b.hi - 1};
}

} // namespace

Interval bounds_of(const Expr& e, const VarRanges& ranges) {
  internal_check(e.defined(), "bounds_of: undefined expression");
  if (e.type() != ScalarType::Int) return Interval::everything();
  switch (e.kind()) {
  case NodeKind::IntImm: return Interval::point(e.as<IntImm>()->value);
  case NodeKind::Var: {
    auto it = ranges.find(e.as<Var>()->name);
    return it == ranges.end() ? Interval::everything() : it->second;
  }
  case NodeKind::Binary: {
    const Binary* b = e.as<Binary>();
    Interval x = bounds_of(b->a, ranges), y = bounds_of(b->b, ranges);
    switch (b->op) {
    case BinaryOp::Add: return add(x, y);
    case BinaryOp::Sub: return add(x, negate(y));
    case BinaryOp::Mul: return mul(x, y);
    case BinaryOp::Div: return div(x, y);
    case BinaryOp::Mod: return mod(x, y);
    case BinaryOp::Min: return {std::min(x.lo, y.lo), std::min(x.hi, y.hi)};
    case BinaryOp::Max: return {std::max(x.lo, y.lo), std::max(x.hi, y.hi)};
    }
    break;
  }
  case NodeKind::Select: {
    const Select* s = e.as<Select>();
    Interval t = bounds_of(s->true_value, ranges), f = bounds_of(s->false_value, ranges);
    return {std::min(t.lo, f.lo), std::max(t.hi, f.hi)};
  }
  // A vector's range is that of all its lanes.
  case NodeKind::Ramp: {
    const Ramp* r = e.as<Ramp>();
    const int64_t last = r->stride * (r->lanes - 1);
    return add(bounds_of(r->base, ranges), {std::min<int64_t>(0, last), std::max<int64_t>(0, last)});
  }
  case NodeKind::Broadcast: return bounds_of(e.as<Broadcast>()->value, ranges);
  case NodeKind::Load: {
    // An index table's loads lie between its least and greatest entries.
    const Buffer& b = *e.as<Load>()->buffer;
    if (b.scope != MemoryScope::Constant || b.values.empty()) break;
    const auto [lo, hi] = std::minmax_element(b.values.begin(), b.values.end());
    return {int64_t(*lo), int64_t(*hi)};
  }
  default: break;
  }
  return Interval::everything();
}

namespace {

/// Narrows `var`'s range knowing `var op bound` holds.
void narrow(VarRanges& ranges, const std::string& var, CompareOp op, Interval bound) {
  auto it = ranges.find(var);
  Interval cur = it == ranges.end() ? Interval::everything() : it->second;
  switch (op) {
  case CompareOp::LT:
    if (bound.has_upper()) cur.hi = std::min(cur.hi, bound.hi - 1);
    break;
  case CompareOp::LE:
    if (bound.has_upper()) cur.hi = std::min(cur.hi, bound.hi);
    break;
  case CompareOp::GT:
    if (bound.has_lower()) cur.lo = std::max(cur.lo, bound.lo + 1);
    break;
  case CompareOp::GE:
    if (bound.has_lower()) cur.lo = std::max(cur.lo, bound.lo);
    break;
  case CompareOp::EQ:
    if (bound.has_lower()) cur.lo = std::max(cur.lo, bound.lo);
    if (bound.has_upper()) cur.hi = std::min(cur.hi, bound.hi);
    break;
  case CompareOp::NE: break;
  }
  ranges[var] = cur;
}

CompareOp mirrored(CompareOp op) {
  switch (op) {
  case CompareOp::LT: return CompareOp::GT;
  case CompareOp::LE: return CompareOp::GE;
  case CompareOp::GT: return CompareOp::LT;
  case CompareOp::GE: return CompareOp::LE;
  default: return op;
  }
}

} // namespace

VarRanges assume(const Expr& cond, VarRanges ranges) {
  if (const Logical* l = cond.as<Logical>()) {
    if (l->op == LogicalOp::And) return assume(l->b, assume(l->a, std::move(ranges)));
    return ranges;
  }
  const Compare* c = cond.as<Compare>();
  if (!c || c->a.type() != ScalarType::Int) return ranges;
  if (const Var* v = c->a.as<Var>()) narrow(ranges, v->name, c->op, bounds_of(c->b, ranges));
  if (const Var* v = c->b.as<Var>()) narrow(ranges, v->name, mirrored(c->op), bounds_of(c->a, ranges));
  return ranges;
}

Interval loop_range(const Interval& min, const Interval& extent) {
  Interval range;
  if (min.has_lower()) range.lo = min.lo;
  if (min.has_upper() && extent.has_upper()) range.hi = min.hi + extent.hi - 1;
  return range;
}

bool constant_value(const Expr& e, int64_t& value) {
  Interval i = bounds_of(e, {});
  if (!i.is_point()) return false;
  value = i.lo;
  return true;
}

std::string to_text(const Interval& i) {
  std::string lo = i.has_lower() ? std::to_string(i.lo) : "-inf";
  std::string hi = i.has_upper() ? std::to_string(i.hi) : "+inf";
  return "[" + lo + ", " + hi + "]";
}

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

} // namespace convtune
