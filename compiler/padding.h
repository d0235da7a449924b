/// \file Padding: a stage whose fold skips the taps outside a tensor (NestStage::boundary, a
/// convolution's or a pooling's input with its zero or -infinity exterior) gets, on each store
/// that reads that tensor, a guard for each side an index can cross over the ranges of its
/// loops and lets, split tails included. Where the stage reads the tensor through a packed
/// layout, the pack holds the exterior and no read of the tensor itself is left to guard.
#pragma once

#include "ir/ir.h"

namespace convtune {

/// `nest` with its padding guards, placed first in a store's existing guard.
LoopNest guard_padding(const LoopNest& nest);

} // namespace convtune
