/// \file Bounds inference for a stage computed at a loop: the box of a buffer that the reads
/// below the loop touch, as a first index per dimension (an expression of the loops outside)
/// and a constant extent covering every iteration of the loops inside.
///
/// Each read's index must be affine in the inner loops (constant coefficients; anything of
/// the outer loops, divisions and modulos included, is a symbolic offset), and all reads of a
/// dimension must share that offset up to a constant. A read's position in the box is then an
/// expression of the inner loops alone, which keeps a local buffer's index math cheap.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/ir.h"

namespace convtune {

struct ReadRegion {
  std::vector<Expr> min;         ///< per dimension: the first index read (outer loops only)
  std::vector<int64_t> extent;   ///< per dimension: how many indices from it are read
  std::vector<int64_t> min_constant;  ///< per dimension: the constant part of `min`
};

/// The loops inside the loop a stage is computed at: name and extent (each from 0).
using InnerLoops = std::vector<std::pair<std::string, int64_t>>;

/// The box `reads` (the index lists of every read, lets substituted) cover over `inner`;
/// nullopt, with `why` set, when an index is not affine in the inner loops or two reads'
/// offsets differ by more than a constant.
std::optional<ReadRegion> read_region(const std::vector<std::vector<Expr>>& reads, const InnerLoops& inner, std::string& why);

/// Where the read at `index` (lets substituted) falls in `region`: per dimension, an
/// expression of the inner loops alone. Assumes read_region accepted it.
std::vector<Expr> index_in_region(const std::vector<Expr>& index, const ReadRegion& region, const InnerLoops& inner);

} // namespace convtune
