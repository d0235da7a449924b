/// \file Modulus-remainder analysis (see the header).
#include "ir/modulus.h"

#include <cstdlib>
#include <numeric>

namespace convtune {

namespace {

/// Past this, products could overflow: the analysis gives up (nothing known).
constexpr int64_t kLimit = int64_t(1) << 31;

ModulusRemainder unknown() { return {1, 0}; }

ModulusRemainder make(int64_t modulus, int64_t remainder) {
  modulus = std::llabs(modulus);
  if (modulus >= kLimit || std::llabs(remainder) >= kLimit) return unknown();
  if (modulus == 0) return {0, remainder};
  int64_t r = remainder % modulus;
  return {modulus, r < 0 ? r + modulus : r};
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/// What both `a` and `b` satisfy (either may be the value).
ModulusRemainder unify(const ModulusRemainder& a, const ModulusRemainder& b) {
  const int64_t m = std::gcd(std::gcd(a.modulus, b.modulus), std::llabs(a.remainder - b.remainder));
  return make(m, a.remainder);
}

class Analysis {
public:
  explicit Analysis(const LetLookup& lets) : lets_(lets) {}

  ModulusRemainder of(const Expr& e, int depth = 0) {
    if (depth > 64) return unknown();  // a let chain this deep is not worth following
    if (const IntImm* i = e.as<IntImm>()) return {0, i->value};
    if (const Var* v = e.as<Var>()) {
      if (!lets_) return unknown();
      const Expr value = lets_(v->name);
      return value.defined() ? of(value, depth + 1) : unknown();
    }
    if (const Ramp* r = e.as<Ramp>()) {
      // Every lane: the base plus a multiple of the stride.
      const ModulusRemainder base = of(r->base, depth + 1);
      return make(std::gcd(base.modulus, std::llabs(r->stride)), base.remainder);
    }
    if (const Broadcast* b = e.as<Broadcast>()) return of(b->value, depth + 1);
    if (const Select* s = e.as<Select>()) return unify(of(s->true_value, depth + 1), of(s->false_value, depth + 1));
    const Binary* b = e.as<Binary>();
    if (!b || e.type() != ScalarType::Int) return unknown();
    const ModulusRemainder x = of(b->a, depth + 1), y = of(b->b, depth + 1);
    switch (b->op) {
    case BinaryOp::Add: return make(std::gcd(x.modulus, y.modulus), x.remainder + y.remainder);
    case BinaryOp::Sub: return make(std::gcd(x.modulus, y.modulus), x.remainder - y.remainder);
    case BinaryOp::Mul:
      if (std::llabs(x.modulus) >= kLimit / 2 || std::llabs(y.modulus) >= kLimit / 2) return unknown();
      return make(std::gcd(std::gcd(x.modulus * y.modulus, x.modulus * y.remainder), y.modulus * x.remainder),
                  x.remainder * y.remainder);
    case BinaryOp::Div:
      // (m k + r) / d = (m / d) k + floor(r / d) when d divides m (floor division).
      if (y.modulus != 0 || y.remainder <= 0) return unknown();
      if (x.modulus % y.remainder != 0) return unknown();
      return make(x.modulus / y.remainder, floor_div(x.remainder, y.remainder));
    case BinaryOp::Mod:
      if (y.modulus != 0 || y.remainder <= 0) return unknown();
      return make(std::gcd(x.modulus, y.remainder), x.remainder);
    case BinaryOp::Min:
    case BinaryOp::Max: return unify(x, y);
    }
    return unknown();
  }

private:
  const LetLookup& lets_;
};

} // namespace

ModulusRemainder modulus_remainder(const Expr& e, const LetLookup& lets) { return Analysis(lets).of(e); }

Expr flat_index(const Buffer& b, const std::vector<Expr>& index) {
  Expr flat = 0;
  int64_t stride = 1;
  for (size_t d = index.size(); d-- > 0;) {
    flat = flat + index[d] * Expr(stride);
    stride *= b.shape[d];
  }
  return flat;
}

int64_t power_of_two_factor(const Expr& e, int64_t cap, const LetLookup& lets) {
  const ModulusRemainder mr = modulus_remainder(e, lets);
  // Every value is remainder + a multiple of modulus: what divides both divides them all.
  const int64_t g = std::gcd(mr.modulus, mr.remainder);  // 0 only for the constant 0
  int64_t p = 1;
  while (p < cap && (g == 0 || g % (p * 2) == 0)) p *= 2;
  return p;
}

} // namespace convtune
