/// \file The modulus-remainder analysis: what it proves of affine index math, lets, division
/// and modulo, and that it claims nothing it cannot prove.
#include <catch2/catch.hpp>

#include <map>

#include "ir/modulus.h"

using namespace convtune;

namespace {

Expr v(const std::string& n) { return Var::make(n); }

ModulusRemainder mr(const Expr& e, const std::map<std::string, Expr>& lets = {}) {
  return modulus_remainder(e, [&](const std::string& n) {
    auto it = lets.find(n);
    return it == lets.end() ? Expr() : it->second;
  });
}

void check(const ModulusRemainder& got, int64_t modulus, int64_t remainder) {
  CHECK(got.modulus == modulus);
  CHECK(got.remainder == remainder);
}

} // namespace

TEST_CASE("modulus-remainder of affine index math", "[ir][modulus]") {
  check(mr(Expr(7)), 0, 7);
  check(mr(v("x")), 1, 0);                                       // nothing known
  check(mr(v("x") * Expr(12) + Expr(5)), 12, 5);
  check(mr(v("x") * Expr(12) + v("y") * Expr(8)), 4, 0);         // both multiples of 4
  check(mr(v("x") * Expr(12) - Expr(5)), 12, 7);                 // remainders stay in [0, m)
  check(mr((v("x") * Expr(4) + Expr(2)) * Expr(3)), 12, 6);
  check(mr((v("x") * Expr(2) + Expr(1)) * (v("y") * Expr(2) + Expr(1))), 2, 1);  // odd times odd
  check(mr(v("x") * Expr(36) / Expr(9)), 4, 0);                  // 36x / 9 = 4x
  check(mr((v("x") * Expr(8) + Expr(5)) / Expr(4)), 2, 1);       // (8x + 5) / 4 = 2x + 1
  check(mr(v("x") * Expr(6) / Expr(4)), 1, 0);                   // 4 does not divide 6: unknown
  check(mr((v("x") * Expr(12) + Expr(7)) % Expr(8)), 4, 3);      // 12x + 7 mod 8 is 3 or 7
  check(mr(v("x") % Expr(8) * Expr(4)), 4, 0);
  check(mr(min(v("x") * Expr(8), v("y") * Expr(4) + Expr(4))), 4, 0);
  check(mr(Select::make(v("x") < Expr(1), Expr(6), Expr(10))), 4, 2);
}

TEST_CASE("modulus-remainder follows lets and the power of two it proves", "[ir][modulus]") {
  const std::map<std::string, Expr> lets = {{"t", v("g") % Expr(9) * Expr(4)}, {"row", v("k") * Expr(576) + v("t")}};
  check(mr(v("row"), lets), 4, 0);
  check(mr(v("row") + Expr(2), lets), 4, 2);
  const auto lookup = [&](const std::string& n) {
    auto it = lets.find(n);
    return it == lets.end() ? Expr() : it->second;
  };
  CHECK(power_of_two_factor(v("row"), 4, lookup) == 4);
  CHECK(power_of_two_factor(v("row") + Expr(2), 4, lookup) == 2);
  CHECK(power_of_two_factor(v("row") + Expr(1), 4, lookup) == 1);
  CHECK(power_of_two_factor(v("row"), 2, lookup) == 2);                 // capped
  CHECK(power_of_two_factor(v("k") * Expr(153), 4) == 1);               // an odd row length
  CHECK(power_of_two_factor(Expr(0), 4) == 4);
  CHECK(power_of_two_factor(Ramp::make(v("k") * Expr(8), 1, 4), 4) == 1);  // the lanes themselves are not aligned
}
