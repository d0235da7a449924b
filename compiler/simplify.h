/// \file Simplify: constant folding and algebraic identities on integer index math.
///
/// Folds operations on constants, drops `+ 0`, `* 1`, `* 0`, `/ 1`, `% 1`, merges nested
/// constant offsets (`(x + 2) + 3` to `x + 5`), and resolves comparisons, mins and maxes that
/// the variables' ranges decide (e.g. `min(qo*8 + 8, 56)` when qo < 6). Float arithmetic is
/// folded only where the result is the one the code would compute: an element of a constant
/// table at constant indices is its value, a product of constants their float product, x*1 and
/// x+0 are x, x*0 is 0 (the IR's floats are finite) and a fold of 0 is dropped; that is how a
/// transform's zero coefficients leave the unrolled code (Winograd). Sums of constants stay,
/// in the code's order of rounding.
#pragma once

#include "ir/interval.h"
#include "ir/ir.h"

namespace convtune {

Expr simplify(const Expr& e, const VarRanges& ranges = {});
/// Simplifies every expression, knowing the ranges of loop and let variables; drops loops
/// with a zero extent and if-statements with a constant condition.
Stmt simplify(const Stmt& s);
LoopNest simplify(const LoopNest& nest);

} // namespace convtune
