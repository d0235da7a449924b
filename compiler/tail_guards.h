/// \file Tail guards: where a split whose factor does not divide its loop makes a dimension
/// over-run, which statements need a guard on that dimension.
///
/// A tail needs a guard where it would reach memory outside a buffer or another point's data:
/// - reads in the update that depend on the dimension, unless every such read is of a buffer
///   sized for the over-run by bounds inference: for a reduction dimension it must also hold
///   zeros past the tensor (a packed layout), since what it reads there is summed; for a pure
///   one any value will do (it lands in results the guarded write drops);
/// - writes of the result, unless it is packed (sized the same way);
/// - always for the stage's exact dimensions (a group's channels).
/// Each guard is `dim < extent`, on the dimension's let, which the verifier and the
/// simplifier can narrow.
#pragma once

#include <functional>
#include <vector>

#include "ir/ir.h"
#include "schedules/schedule_state.h"

namespace convtune {

struct TailGuards {
  std::vector<Expr> pure;        ///< on the result's init and write (and the update without cache_write)
  std::vector<Expr> reduction;   ///< on the update
  std::vector<Expr> tile_reads;  ///< on the update below a cache_write, for reads a pure tail takes too far
};

/// How the reads of a tensor reach memory past its extent.
enum class ReadReach {
  None,        ///< not at all: a read there is out of bounds
  Sized,       ///< the buffer holds the over-run (with unspecified values)
  ZeroPadded,  ///< the buffer holds the over-run as zeros (a packed layout)
};

/// The guards the tails of `state` need; `reach(b)` tells how reads of tensor `b` reach past
/// it, `result_packed` whether the result is written to a layout sized for the over-run.
TailGuards tail_guards(const ScheduleState& state, const std::function<ReadReach(const Buffer*)>& reach,
                       bool result_packed);

} // namespace convtune
