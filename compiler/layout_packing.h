/// \file Layout packing: a tensor re-laid out into blocks (NCHW[x]c, KCRS[x]c[y]k,
/// NKPQ[y]k) and with a zero exterior, the index of an access in the packed form (bounds
/// inference sizes the packed buffer from the accesses' ranges), and the stages that pack an
/// input and unpack a result. Used by schedule_loops for the pack primitives.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ir/algorithm.h"
#include "ir/interval.h"
#include "ir/ir.h"

namespace convtune {

/// How one tensor is re-laid out: dimensions split into blocks (outer index d / b in place,
/// inner index d % b appended in `blocks` order), and dimensions shifted by an exterior (a
/// zero border, so reads of the padding need no guard).
struct PackSpec {
  BufferRef original;
  std::string layout;                            ///< the original's dimension letters
  std::vector<std::pair<size_t, int64_t>> blocks;  ///< (dimension, block), inner blocks in order
  std::set<size_t> exterior_dims;                ///< dimensions that may be read outside the tensor
  bool written = false;                          ///< the stage writes it (then unpacked)
  // Filled by inference:
  std::vector<int64_t> offsets;                  ///< per dimension: the exterior before index 0
  BufferRef packed;
  /// What the packed form holds outside the original: the identity of the reduction that
  /// reads it (0 for a sum, -infinity for a max), so a padded tap changes nothing.
  double exterior_value = 0;
  /// Appended to the packed buffer's and its stages' names: empty for the main stage's
  /// packs, "_for_STAGE" for another stage's (each stage packs its own copy).
  std::string suffix{};

  int64_t block_of(size_t d) const {
    for (const auto& [dim, b] : blocks) {
      if (dim == d) return b;
    }
    return 0;
  }
  /// Dimensions whose packed index uses the dimension's value (not its let's name), so the
  /// simplifier sees (a*x + b) / x: the blocked and the shifted ones.
  bool uses_value(size_t d) const { return block_of(d) || exterior_dims.count(d); }
};

/// The index of `spec.packed` for an access of the original at `index`, where `lets` are the
/// names bound around the access and `ranges` the ranges of the loops and lets. The first call
/// fixes the exterior offsets and creates `spec.packed`, sized by bounds inference to hold
/// every index of this access (a written tensor at least whole, for its unpacking).
std::vector<Expr> packed_index(PackSpec& spec, const std::vector<Expr>& index, const std::vector<LetBinding>& lets,
                               const VarRanges& ranges);

/// packed[outer..., inner...] = the original element there, or 0 outside the original; the
/// two outermost loops fused and parallel.
Stmt pack_stage(const PackSpec& spec);

/// original[...] = packed at that element, over the original's extent only; the two
/// outermost loops fused and parallel. With a `consumer` (a pure stage over the original's
/// coordinates that reads it there, such as a convolution's epilogue), the consumer's result
/// is written instead, its reads of the original taken from the packed form: the consumer is
/// computed inline in the unpacking and the original is never stored.
Stmt unpack_stage(const PackSpec& spec, const AlgorithmStage* consumer = nullptr);

/// Whether `consumer` can be computed inside the unpacking of `produced`: a pure stage whose
/// dimensions are the buffer's coordinates, in order, and which reads `produced` only there.
bool unpack_can_compute(const AlgorithmStage& consumer, const BufferRef& produced);

/// `consumer`'s store at the point `coords` of `produced` (one it can be computed at:
/// unpack_can_compute), its read of `produced` there being `value`.
Stmt consumer_store_at(const AlgorithmStage& consumer, const Buffer& produced, const std::vector<Expr>& coords,
                       const Expr& value);

} // namespace convtune
