/// \file The vectorize pass: every loop marked vectorized becomes vector expressions, so code
/// generation emits what the IR says and decides nothing about lanes.
///
/// A loop of L iterations whose body can be widened (compiler/lane_analysis: control flow
/// uniform across lanes, integer math affine in the lane, a store's lanes at distinct
/// addresses) loses its loop: its variable becomes ramp(min, 1, L) (for L not a power of two,
/// one copy of the body per power-of-two piece of L, largest first, which LLVM maps onto
/// registers without shuffles), integer math over it stays
/// a ramp (base, constant stride) or a broadcast, lets of varying integers are substituted
/// into their uses, and loads, float math, comparisons and stores get L lanes. A body that
/// cannot be widened runs its lanes as unrolled copies instead (the unroll pass after this one
/// makes them; LLVM's SLP vectorizer may still pack them).
///
/// Assumes constant extents (the vectorize primitive checks them; simplify has run before).
#pragma once

#include "ir/ir.h"

namespace convtune {

Stmt vectorize_loops(const Stmt& s);
LoopNest vectorize_loops(const LoopNest& nest);

} // namespace convtune
