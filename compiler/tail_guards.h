/// \file Tail guards: where a split whose factor does not divide its loop makes a dimension
/// over-run, which statements need a guard on that dimension.
///
/// A tail needs a guard where it would reach memory outside a buffer or another point's data:
/// - reads in the update that depend on the dimension, unless every such read is of a packed
///   layout (sized by bounds inference for the over-run, zeros past the tensor);
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

/// The guards the tails of `state` need; `packed_read(b)` tells whether reads of tensor `b`
/// go to a packed layout, `result_packed` whether the result is written packed.
TailGuards tail_guards(const ScheduleState& state, const std::function<bool(const Buffer*)>& packed_read,
                       bool result_packed);

} // namespace convtune
