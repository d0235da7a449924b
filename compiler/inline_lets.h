/// \file The let-inlining pass: an integer let whose value is affine in loop variables (sums
/// and differences of variables and constants, products by constants) is substituted into its
/// body. What a split leaves, `p = po * 7 + pi`, then reaches an access's index as terms of its
/// own, and codegen's distributed flat index (compiler/codegen_llvm.h) folds each unrolled
/// row's constant into the address rather than computing the row's offset in a register. Lets
/// of anything else (a fused loop's division, a table's entry) stay: their value is computed
/// once. Runs after unrolling, before code generation.
#pragma once

#include "ir/ir.h"

namespace convtune {

Stmt inline_affine_lets(const Stmt& s);
LoopNest inline_affine_lets(const LoopNest& nest);

} // namespace convtune
