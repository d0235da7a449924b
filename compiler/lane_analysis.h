/// \file Lane analysis of vectorized loops, free of LLVM: a vectorized loop's body is widened
/// only when control flow is uniform across lanes, integer index math is affine in the lane,
/// and each store's lanes write distinct addresses.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace convtune {

/// The lanes of a vectorized loop: which variables vary across lanes and by how much per
/// lane (an affine stride), and how many lanes there are.
struct LaneInfo {
  int lanes = 0;
  std::map<std::string, int64_t> strides;  ///< per-lane stride of each varying int variable
};

/// True when an expression's value is the same in every lane.
bool uniform(const Expr& e, const LaneInfo& lanes);

/// The per-lane stride of an integer expression: 0 when uniform, nullopt when not affine.
std::optional<int64_t> lane_stride(const Expr& e, const LaneInfo& lanes);

/// The per-lane stride of the flat (row-major) index of buffer[idx]; `affine` false (and 0
/// returned) when an index is not affine in the lane.
int64_t flat_stride(const Buffer& b, const std::vector<Expr>& idx, const LaneInfo& lanes, bool& affine);

/// Whether `body` can be widened over `lanes` (see the file comment).
bool can_widen(const Stmt& body, const LaneInfo& lanes);

} // namespace convtune
