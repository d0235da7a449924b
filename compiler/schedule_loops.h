/// \file The scheduling pass: a scheduled stage of an algorithm into loops.
///
/// The stage's loops come as the schedule arranged them; its definition goes under them with
/// each dimension rebuilt by a let from the split and fused loops; tails get the guards
/// compiler/tail_guards decides, the boundary tensor (padding) a guard from its index ranges
/// unless it is packed; below a cache_write the partial results live in a local tile; the pack
/// primitives re-lay out tensors (compiler/layout_packing) with their pack and unpack stages.
/// Other stages with steps of their own are lowered the same way (a pure stage: its definition
/// under its loops); the rest run whole around it, in parallel. Assumes states that
/// apply_schedule accepted; the result is verified by the pipeline after it.
#pragma once

#include <string>

#include "ir/ir.h"
#include "schedules/schedule.h"
#include "schedules/schedule_state.h"

namespace convtune {

/// The nest of the algorithm the states schedule: the main stage as its state says, every other
/// stage with a state (steps naming it) likewise, the rest whole and in parallel.
LoopNest schedule_loops(const StageStates& states, const std::string& name = "conv");
/// The same with only the main stage scheduled; `state` must be of the algorithm's main stage.
LoopNest schedule_loops(const ScheduleState& state, const std::string& name = "conv");

} // namespace convtune
