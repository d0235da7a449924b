/// \file How a GPU block's threads fill a region of shared memory together (the shared
/// storage of compute_at; compiler/schedule_loops builds the region and what one point holds).
/// Neighbouring threads fill neighbouring points, so their global loads coalesce; where the
/// region's rows and the source allow, each thread fills a vector of 2 or 4 consecutive points
/// a round, which the vectorize pass turns into one 8- or 16-byte load and store (float2,
/// float4 on the GPU).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/interval.h"
#include "ir/ir.h"
#include "ir/modulus.h"
#include "schedules/schedule_state.h"

namespace convtune {

/// A region of shared memory and the threads that fill it.
struct SharedFill {
  std::string name;              ///< the producer: the fill's names are NAME_x0, NAME_x1, ..., NAME_round
  std::vector<int64_t> extent;   ///< the region, row-major
  std::vector<LoopDim> threads;  ///< the block's thread loops (their extents multiply to the block)
  int vector = 1;                ///< consecutive points of the last dimension a thread fills at once
};

/// The region's coordinate variable along dimension `d` (what `point` reads).
std::string fill_coordinate(const SharedFill& fill, size_t d);

/// The widest vector (4, 2 or 1 points) a thread can fill of `fill`'s region at once: the last
/// extent a multiple of it, and `value` (a point's value, over the coordinates) one load whose
/// address steps by one element along the last coordinate and whose first element of each
/// vector is that many floats from an aligned one (`lets` resolve the names the index uses).
int shared_fill_vector(const SharedFill& fill, const Expr& value, const LetLookup& lets);

/// The fill: round after round, thread t of the T threads (threadIdx.x fastest) fills vector
/// t, t + T, t + 2T, ... of the region's points in row-major order; `point` stores one point at
/// the coordinates. Its rounds are unrolled up to `max_unrolled_rounds`.
Stmt shared_fill(const SharedFill& fill, const Stmt& point, int64_t max_unrolled_rounds);

} // namespace convtune
