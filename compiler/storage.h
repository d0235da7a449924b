/// \file Storage: the temporaries a nest keeps in its workspace, sized for what its stages
/// read and write. A consumer's split tail reads past its producer's extent, and a producer's
/// tail writes past it: the temporary is allocated large enough to hold both, so that neither
/// needs a guard (compiler/tail_guards guards only what leaves a buffer). What lies there is
/// never a result: it lands in results a guarded write drops, or is guarded away where a
/// reduction would fold it in. A temporary whose exterior holds the identity its readers rely
/// on (a zero-padded packed input) is grown for reads only, and written only inside. Runs after
/// compiler/bounds_inference.
#pragma once

#include "ir/ir.h"

namespace convtune {

/// `nest` with each temporary accessed past its extent (and never below 0) replaced, in every
/// stage, by a larger one of the same name that holds every access.
LoopNest size_storage(const LoopNest& nest);

} // namespace convtune
