/// \file Storage: the temporaries a nest keeps in its workspace, sized for what its stages
/// read. A consumer's split tail reads past its producer's extent: the temporary is allocated
/// large enough to hold those reads, the producer still writes only its own points (its tail
/// guarded), and what the tail reads there lands in results its own guarded write drops (or is
/// guarded by compiler/tail_guards when a reduction would fold it in). Runs after
/// compiler/bounds_inference.
#pragma once

#include "ir/ir.h"

namespace convtune {

/// `nest` with each temporary read past its extent (and never below 0) replaced, in every
/// stage, by a larger one of the same name that holds every read.
LoopNest size_storage(const LoopNest& nest);

} // namespace convtune
