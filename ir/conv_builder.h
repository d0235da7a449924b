/// \file The algorithm: a workload turned into its naive loop nest.
#pragma once

#include "ir/ir.h"
#include "ir/workload.h"

namespace convtune {

/// The loop nest that computes `wl` directly, loop order n, (g,) k, p, q, c, r, s:
/// the output is zeroed, then every tap inside the input accumulates input * weight.
/// Padding is a guard on the input coordinates, emitted only for the sides that can be
/// crossed. With groups > 1, `k` and `c` index within the group `g`.
LoopNest build_conv_nest(const Workload& wl, const std::string& name = "conv");

} // namespace convtune
