/// \file Simplify: constant folding and algebraic identities on integer index math.
///
/// Folds operations on constants, drops `+ 0`, `* 1`, `* 0`, `/ 1`, `% 1`, merges nested
/// constant offsets (`(x + 2) + 3` to `x + 5`), and resolves comparisons, mins and maxes that
/// the variables' ranges decide (e.g. `min(qo*8 + 8, 56)` when qo < 6). Float arithmetic is
/// left alone: folding it could change rounding.
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
