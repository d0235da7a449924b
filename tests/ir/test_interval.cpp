/// \file Interval arithmetic: bounds_of for each operator, floor semantics, unknowns, assume().
#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "ir/interval.h"
#include "ir/ir.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::testing::var;

namespace {

/// bounds_of as text, "[lo, hi]" with -inf/+inf for unknown ends.
std::string range_of(const Expr& e, const VarRanges& ranges = {}) { return to_text(bounds_of(e, ranges)); }

} // namespace

TEST_CASE("bounds_of a constant is that point", "[ir][interval]") {
  Interval i = bounds_of(Expr(7), {});
  REQUIRE(i.lo == 7);
  REQUIRE(i.hi == 7);
  REQUIRE(i.is_point());
  REQUIRE(range_of(Expr(-3)) == "[-3, -3]");
}

TEST_CASE("bounds_of folds arithmetic on constants", "[ir][interval]") {
  REQUIRE(range_of(Expr(2) + Expr(3)) == "[5, 5]");
  REQUIRE(range_of(Expr(2) - Expr(3)) == "[-1, -1]");
  REQUIRE(range_of(Expr(4) * Expr(-3)) == "[-12, -12]");
  REQUIRE(range_of(Expr(7) / Expr(2)) == "[3, 3]");
  REQUIRE(range_of(Expr(2) % Expr(3)) == "[2, 2]");
  // A dividend past the divisor is only bounded by the divisor: sound, if not exact.
  REQUIRE(range_of(Expr(7) % Expr(3)) == "[1, 1]");
  REQUIRE(range_of(Expr(-7) % Expr(3)) == "[2, 2]");
  REQUIRE(range_of(min(Expr(4), Expr(9))) == "[4, 4]");
  REQUIRE(range_of(max(Expr(4), Expr(9))) == "[9, 9]");
}

TEST_CASE("bounds_of combines the ranges of loop variables", "[ir][interval]") {
  const VarRanges ranges = {{"i", {0, 9}}, {"j", {2, 5}}, {"m", {-4, 3}}};
  Expr i = var("i"), j = var("j"), m = var("m");
  REQUIRE(range_of(i, ranges) == "[0, 9]");
  REQUIRE(range_of(i + j, ranges) == "[2, 14]");
  REQUIRE(range_of(i - j, ranges) == "[-5, 7]");
  REQUIRE(range_of(i * Expr(4) + Expr(1), ranges) == "[1, 37]");
  REQUIRE(range_of(i * j, ranges) == "[0, 45]");
  REQUIRE(range_of(m * j, ranges) == "[-20, 15]");
  REQUIRE(range_of(m * m, ranges) == "[-12, 16]");  // intervals forget that both are the same m
  REQUIRE(range_of(m * Expr(-2), ranges) == "[-6, 8]");
  REQUIRE(range_of(i / Expr(4), ranges) == "[0, 2]");
  REQUIRE(range_of(i / j, ranges) == "[0, 4]");
  REQUIRE(range_of(i % Expr(4), ranges) == "[0, 3]");
  REQUIRE(range_of(j % Expr(8), ranges) == "[2, 5]");  // already inside [0, 8)
  REQUIRE(range_of(min(i, j), ranges) == "[0, 5]");
  REQUIRE(range_of(max(i, j), ranges) == "[2, 9]");
  REQUIRE(range_of(min(i * Expr(8) + Expr(8), Expr(56)), ranges) == "[8, 56]");
  REQUIRE(range_of(Select::make(i < j, i, m), ranges) == "[-4, 9]");
}

TEST_CASE("bounds_of division and modulo round towards negative infinity", "[ir][interval]") {
  const VarRanges ranges = {{"x", {-3, 5}}, {"y", {-7, -7}}};
  Expr x = var("x"), y = var("y");
  REQUIRE(range_of(x / Expr(2), ranges) == "[-2, 2]");
  REQUIRE(range_of(x % Expr(2), ranges) == "[0, 1]");
  REQUIRE(range_of(y / Expr(2), ranges) == "[-4, -4]");
  REQUIRE(range_of(Expr(-7) / Expr(2)) == "[-4, -4]");
  REQUIRE(range_of(Expr(-1) / Expr(4)) == "[-1, -1]");
  REQUIRE(range_of(Expr(7) / Expr(-2)) == "[-4, -4]");
  REQUIRE(range_of(Expr(-7) / Expr(-2)) == "[3, 3]");
  REQUIRE(range_of(x / Expr(-2), ranges) == "[-3, 1]");
}

TEST_CASE("bounds_of refuses to bound a division by a range holding zero", "[ir][interval]") {
  const VarRanges ranges = {{"x", {1, 5}}, {"d", {-1, 1}}};
  REQUIRE(range_of(var("x") / var("d"), ranges) == "[-inf, +inf]");
  REQUIRE(range_of(var("x") / Expr(0), ranges) == "[-inf, +inf]");
}

TEST_CASE("bounds_of an unknown variable is unbounded", "[ir][interval]") {
  Expr u = var("u");
  Interval i = bounds_of(u, {});
  REQUIRE(!i.has_lower());
  REQUIRE(!i.has_upper());
  REQUIRE(!i.bounded());
  REQUIRE(range_of(u + Expr(1)) == "[-inf, +inf]");
  REQUIRE(range_of(u * Expr(2)) == "[-inf, +inf]");
  REQUIRE(range_of(u * Expr(0)) == "[0, 0]");
  REQUIRE(range_of(u % Expr(8)) == "[0, 7]");
  REQUIRE(range_of(u / Expr(2)) == "[-inf, +inf]");
}

TEST_CASE("bounds_of keeps a known end of a half-bounded range", "[ir][interval]") {
  const VarRanges ranges = {{"x", {3, std::numeric_limits<int64_t>::max()}}};
  Expr x = var("x");
  REQUIRE(range_of(x, ranges) == "[3, +inf]");
  REQUIRE(range_of(x + Expr(2), ranges) == "[5, +inf]");
  REQUIRE(range_of(x - Expr(5), ranges) == "[-2, +inf]");
  REQUIRE(range_of(x * Expr(4), ranges) == "[12, +inf]");
  REQUIRE(range_of(x / Expr(2), ranges) == "[1, +inf]");
  REQUIRE(range_of(Expr(10) - x, ranges) == "[-inf, 7]");
  REQUIRE(range_of(min(x, Expr(8)), ranges) == "[3, 8]");
}

TEST_CASE("bounds_of saturates instead of wrapping around", "[ir][interval]") {
  const int64_t big = std::numeric_limits<int64_t>::max() / 2 + 1;
  const VarRanges ranges = {{"x", {0, big}}};
  Interval i = bounds_of(var("x") * Expr(4), ranges);
  REQUIRE(i.lo == 0);
  REQUIRE(!i.has_upper());
  i = bounds_of(var("x") + Expr(big), ranges);
  REQUIRE(i.lo == big);
  REQUIRE(!i.has_upper());
}

TEST_CASE("bounds_of a float expression is unknown", "[ir][interval]") {
  REQUIRE(range_of(FloatImm::make(1.0)) == "[-inf, +inf]");
}

TEST_CASE("assume narrows a variable from a conjunction of comparisons", "[ir][interval]") {
  Expr x = var("x");
  VarRanges r = assume(x >= Expr(0) && x < Expr(5), {});
  REQUIRE(to_text(r.at("x")) == "[0, 4]");

  r = assume(x >= Expr(0) && x < Expr(5), {{"x", {-3, 2}}});
  REQUIRE(to_text(r.at("x")) == "[0, 2]");

  r = assume(x > Expr(-1) && x <= Expr(4), {{"x", {-10, 10}}});
  REQUIRE(to_text(r.at("x")) == "[0, 4]");
}

TEST_CASE("assume reads a comparison written with the variable on the right", "[ir][interval]") {
  Expr x = var("x");
  VarRanges r = assume(Expr(5) > x && Expr(0) <= x, {});
  REQUIRE(to_text(r.at("x")) == "[0, 4]");
}

TEST_CASE("assume narrows by the bound of an expression and by equality", "[ir][interval]") {
  Expr x = var("x"), n = var("n");
  VarRanges r = assume(x < n * Expr(2), {{"n", {1, 4}}, {"x", {0, 100}}});
  REQUIRE(to_text(r.at("x")) == "[0, 7]");
  REQUIRE(to_text(r.at("n")) == "[1, 4]");
  r = assume(Compare::make(CompareOp::EQ, x, Expr(3)), {{"x", {0, 100}}});
  REQUIRE(to_text(r.at("x")) == "[3, 3]");
}

TEST_CASE("assume ignores what it cannot use", "[ir][interval]") {
  Expr x = var("x");
  const VarRanges before = {{"x", {0, 9}}};
  REQUIRE(to_text(assume(x < Expr(3) || x > Expr(6), before).at("x")) == "[0, 9]");
  REQUIRE(to_text(assume(Compare::make(CompareOp::NE, x, Expr(3)), before).at("x")) == "[0, 9]");
  REQUIRE(to_text(assume(x + Expr(1) < Expr(3), before).at("x")) == "[0, 9]");
  REQUIRE(to_text(assume(Not::make(x < Expr(3)), before).at("x")) == "[0, 9]");
}

TEST_CASE("constant_value reads constant expressions only", "[ir][interval]") {
  int64_t v = 0;
  REQUIRE(constant_value(Expr(2) * Expr(3) + Expr(1), v));
  REQUIRE(v == 7);
  REQUIRE(!constant_value(var("x") + Expr(1), v));
}

TEST_CASE("interval text names unknown ends as infinities", "[ir][interval]") {
  REQUIRE(to_text(Interval{1, 4}) == "[1, 4]");
  REQUIRE(to_text(Interval::everything()) == "[-inf, +inf]");
  REQUIRE(to_text(Interval::point(-2)) == "[-2, -2]");
  REQUIRE(Interval{3, 2}.empty());
}
