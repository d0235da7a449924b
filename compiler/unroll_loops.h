/// \file The unroll pass: every loop marked unrolled becomes one copy of its body per
/// iteration, the loop variable replaced by the iteration's value.
///
/// Assumes constant extents (the unroll primitive checks them; simplify has folded the
/// arithmetic that computes them). Run simplify afterwards: the constants it leaves fold the
/// copies' index math. Code generation then sees no unrolled loops.
#pragma once

#include "ir/ir.h"

namespace convtune {

Stmt unroll_loops(const Stmt& s);
LoopNest unroll_loops(const LoopNest& nest);

} // namespace convtune
