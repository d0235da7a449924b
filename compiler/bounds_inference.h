/// \file Bounds inference: the box of each buffer every stage of a nest reads
/// (NestStage::reads), over the ranges of the stage's loops and lets, split tails included.
/// The storage pass sizes the workspace's temporaries from it; a dump shows the boxes.
#pragma once

#include "ir/ir.h"

namespace convtune {

/// `nest` with each stage's `reads` filled: per buffer, the union of the boxes its loads touch
/// (indices taken through every let to the loops, then bounded by the loops' ranges).
LoopNest infer_bounds(const LoopNest& nest);

} // namespace convtune
