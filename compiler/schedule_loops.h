/// \file The scheduling pass: a scheduled stage of an algorithm into loops.
///
/// The stage's loops come as the schedule arranged them; its definition goes under them with
/// each dimension rebuilt by a let from the split and fused loops; below a cache_write the
/// partial results live in a local tile; the pack primitives re-lay out tensors
/// (compiler/layout_packing) with their pack and unpack stages; a stage computed at a loop has
/// its region computed there (compiler/region_bounds). Other stages with steps of their own are
/// lowered the same way (a pure stage: its definition under its loops); the rest run whole
/// around it, in parallel. Guards are left to the passes after it: each scheduled stage carries
/// its dimensions and boundary tensor (NestStage) for compiler/tail_guards and
/// compiler/padding, and every temporary its stage's extent for compiler/storage. The only
/// guard written here is one the definition states itself (an average pool's tap count).
/// Assumes states that apply_schedule accepted.
#pragma once

#include <string>

#include "ir/ir.h"
#include "schedules/schedule.h"
#include "schedules/schedule_state.h"

namespace convtune {

/// The nest of the algorithm the states schedule: the main stage as its state says, every other
/// stage with a state (steps naming it) likewise, the rest whole and in parallel.
LoopNest schedule_loops(const StageStates& states, const std::string& name = "conv");

} // namespace convtune
