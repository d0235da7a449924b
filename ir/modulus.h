/// \file What an integer expression is known to be modulo some number: the alignment facts a
/// code generator needs to load a vector in one instruction (Halide's ModulusRemainder does
/// the same job). Free of LLVM.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace convtune {

/// The value is `modulus * k + remainder` for some integer k. Modulus 0: the value is the
/// constant `remainder`; modulus 1: nothing is known. The remainder is in [0, modulus).
struct ModulusRemainder {
  int64_t modulus = 1;
  int64_t remainder = 0;
};

/// The value bound to a name (a let), or an undefined Expr for a name known only by its range.
using LetLookup = std::function<Expr(const std::string&)>;

ModulusRemainder modulus_remainder(const Expr& e, const LetLookup& lets = {});

/// The row-major flat index of b[index] as an expression: the address the analysis is asked of.
Expr flat_index(const Buffer& b, const std::vector<Expr>& index);

/// The largest power of two (up to `cap`) that divides every value `e` may take.
int64_t power_of_two_factor(const Expr& e, int64_t cap, const LetLookup& lets = {});

} // namespace convtune
