/// \file Interval arithmetic on integer expressions: the value range of an index given the
/// ranges of the variables it uses (bounds checks, tails, vectorization decisions).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "ir/ir.h"

namespace convtune {

/// A closed range [lo, hi] of int64 values. The full int64 range stands for "unknown".
struct Interval {
  int64_t lo = std::numeric_limits<int64_t>::min();
  int64_t hi = std::numeric_limits<int64_t>::max();

  static Interval everything() { return {}; }
  static Interval point(int64_t v) { return {v, v}; }
  bool has_lower() const { return lo != std::numeric_limits<int64_t>::min(); }
  bool has_upper() const { return hi != std::numeric_limits<int64_t>::max(); }
  bool bounded() const { return has_lower() && has_upper(); }
  bool empty() const { return lo > hi; }
  bool is_point() const { return bounded() && lo == hi; }
};

/// The ranges of the variables in scope.
using VarRanges = std::map<std::string, Interval>;

/// The range of an integer expression's values. Variables absent from `ranges` are unknown.
Interval bounds_of(const Expr& e, const VarRanges& ranges);

/// Narrows the ranges of variables that `cond` compares against bounded expressions, assuming
/// `cond` holds (e.g. `ih >= 0 && ih < 56` gives ih in [0, 55]). Other conjuncts are ignored.
VarRanges assume(const Expr& cond, VarRanges ranges);

/// The values a loop variable takes: from the least `min` to the greatest `min` + `extent` - 1.
Interval loop_range(const Interval& min, const Interval& extent);

/// The constant value of `e` when its range is a single point.
bool constant_value(const Expr& e, int64_t& value);

std::string to_text(const Interval& i);

/// Division and remainder rounding toward minus infinity, as the IR's Div and Mod do: for
/// b != 0, a == floor_div(a, b) * b + floor_mod(a, b) with floor_mod's sign that of b.
int64_t floor_div(int64_t a, int64_t b);
int64_t floor_mod(int64_t a, int64_t b);

} // namespace convtune
