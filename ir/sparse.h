/// \file Sparse weights: a layer's given weights (read from a file, or random and pruned by
/// magnitude) and their pattern of nonzeros, which a sparse kernel is compiled for (after
/// Park et al., "Faster CNNs with direct sparse convolutions and guided pruning", ICLR 2017:
/// per output channel, the list of its nonzero taps).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/workload.h"

namespace convtune {

/// Which weights of a convolution are nonzero: for each output channel k, its taps (c, r, s)
/// within its group, as (c * R + r) * S + s, ascending.
struct SparsePattern {
  int64_t k = 0, c_per_group = 0, r = 0, s = 0;
  std::vector<std::vector<int32_t>> rows;

  int64_t nonzeros() const;
  /// Nonzeros over all weights (1: dense).
  double density() const;
  int64_t longest_row() const;
  /// For each aligned block of `block` output channels, the union of their taps, ascending
  /// (blocked CSR's rows; the last block may hold fewer channels).
  std::vector<std::vector<int32_t>> block_unions(int64_t block) const;
  /// 16 hex digits naming the shape and every nonzero's place.
  std::string digest() const;
};

/// The pattern of KCRS `weights` for `wl` (k * c/groups * r * s of them).
SparsePattern pattern_of(const Workload& wl, const std::vector<float>& weights);

/// Random weights in [-1, 1) from a seed fixed by the shape, with the `sparsity` fraction of
/// smallest magnitude set to zero: one by one, or in blocks of `block` output channels at one
/// tap (the blocks with the smallest sum of magnitudes go).
std::vector<float> pruned_weights(const Workload& wl, double sparsity, int64_t block);

/// Reads KCRS f32 weights for `wl` from `path`: a .npy file (little-endian f4, C order, the
/// shape KCRS or flat) or raw floats. UserError naming the file and what is wrong.
std::vector<float> read_weights_file(const Workload& wl, const std::string& path);

/// The weights `wl.weights` names (read or made once per process, then kept).
const std::vector<float>& given_weights(const Workload& wl);
/// Their pattern. UserError when it is not the one the workload's digest names (the file
/// changed since the workload was tuned).
const SparsePattern& sparse_pattern_of(const Workload& wl);

/// `wl` with its given weights' digest filled in (what the key holds).
Workload with_weights_digest(Workload wl);

} // namespace convtune
