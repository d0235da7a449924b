/// \file Where a stage runs: compute_at (inside a loop of the stage that reads it, only the
/// region that loop's body reads, stored locally, in registers or in the workspace) and
/// compute_inline (its definition substituted into its readers). What TVM's compute_at and
/// compute_inline and Halide's compute_at/store_at/compute_inline do, with the preconditions
/// stated and each refusal naming the stage, the loop or the storage.
///
/// A placed stage is a pure temporary stage other than the main one, with an index its
/// dimensions determine (stage_point) and no loop steps of its own; the scheduling pass infers
/// its region below the loop (compiler/region_bounds) and computes it there.
#pragma once

#include <string>

#include "schedules/schedule.h"

namespace convtune {

/// Computes `stage` inside `loop` of `consumer` (a stage that reads it), stored as `storage`
/// says ("local", "registers" or "workspace"). `step` is the schedule step, for refusals that
/// check_placements finds later.
void compute_at(StageStates& states, const std::string& stage, const std::string& consumer, const std::string& loop,
                const std::string& storage, int step);

/// Substitutes `stage`'s definition into every stage that reads it; the stage is gone.
void compute_inline(StageStates& states, const std::string& stage);

/// Refuses a schedule whose later steps broke a placement: the loop gone, vectorized, or
/// (workspace storage) inside a parallel or GPU-bound loop.
void check_placements(const StageStates& states);

/// ScheduleError naming `stage` when the algorithm has no such stage (listing the stages).
void require_stage(const StageStates& states, const std::string& stage);

/// ScheduleError when `stage` was placed, which leaves it no loops of its own to schedule.
void require_own_loops(const StageStates& states, const std::string& stage);

} // namespace convtune
