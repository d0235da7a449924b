/// \file From a schedule state to the loop nest it describes.
///
/// The compute stage runs the loops in the scheduled order. The original loop variables are
/// rebuilt from the split and fused ones. Tails (split factors that do not divide) get a guard,
/// except where the schedule packs all three tensors and the over-run only reads zeros and
/// writes elements the unpacking ignores (then the tail runs at full speed). Packed buffers
/// are sized by bounds inference over the compute stage's loop ranges and filled with zeros
/// beyond the real data, which also materialises the padding.
#pragma once

#include <string>

#include "ir/ir.h"
#include "schedules/schedule_state.h"

namespace convtune {

LoopNest lower_schedule(const ScheduleState& state, const std::string& name = "conv");

} // namespace convtune
