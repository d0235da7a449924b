/// \file A 4-D tensor's storage in channel blocks (NCHW[b]c) with an exterior around its rows
/// and columns: how a network keeps a tensor between two kernels in the layout the consumer's
/// packing would make, so that neither the producer's unpacking nor the consumer's packing
/// runs (oneDNN's blocked formats, TVM's alter-op-layout).
///
/// Element (n, c, h, w) of the logical N x C x H x W tensor lives at
/// [n][c / block][h + top][w + left][c % block] of `shape`. Every other element (the rows and
/// columns around it, the spare channels of the last block) holds `exterior`: the value the
/// consumer's packing writes there (0 for a convolution's zero padding, -inf for a max pool).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/algorithm.h"
#include "ir/kernel_abi.h"

namespace convtune {

struct TensorLayout {
  int64_t block = 1;
  int64_t top = 0, left = 0;
  std::vector<int64_t> shape;  ///< N, C / block (rounded up), rows, columns, block
  double exterior = 0;

  /// The layout a kernel's blocked parameter has (its ABI entry for NAME_run_blocked), when it is
  /// of this form: the channels blocked once, the rows and columns offset, nothing else moved.
  static std::optional<TensorLayout> of(const AbiBlocked& blocked, const std::vector<int64_t>& logical);

  int64_t elements() const;
  /// The storage index of the logical element (n, c, h, w), as IR and as a flat offset.
  std::vector<Expr> index(const Expr& n, const Expr& c, const Expr& h, const Expr& w) const;
  int64_t offset(int64_t n, int64_t c, int64_t h, int64_t w) const;
  /// A parameter's layout letters in this layout: "NCHW" -> "NCHW16c".
  std::string letters(const std::string& plain) const;
  /// "NCHW16c, rows 58 from 1, columns 58 from 1, exterior 0"
  std::string describe() const;
  bool operator==(const TensorLayout& o) const {
    return block == o.block && top == o.top && left == o.left && shape == o.shape && exterior == o.exterior;
  }
  bool operator!=(const TensorLayout& o) const { return !(*this == o); }
};

/// `algorithm` with its output stored in `layout` instead of dense: the stage writing the output
/// stores at the layout's index. Where a schedule rewrites that stage (one of `scheduled`, the
/// stages its steps name: a convolution without an epilogue, a max pool), the stage writes a
/// temporary `result` instead and a copy stage `store` follows, which a packed schedule
/// computes inside its unpacking as it does an epilogue. The exterior is not written.
Algorithm with_output_layout(const Algorithm& algorithm, const TensorLayout& layout,
                             const std::vector<std::string>& scheduled);

/// Where a kernel's tensors live when not dense: its output, its input when the kernel reads it
/// from another reader's packing, and the residual its epilogue adds.
struct ParamLayouts {
  std::optional<TensorLayout> output, input, residual;
  bool any() const { return output || input || residual; }
  /// "" when dense; otherwise what tells two kernels apart ("output NCHW16c, ...; residual ...").
  std::string describe() const;
};

/// Copies the logical tensor out of `storage` into dense NCHW `dense` (of shape `logical`).
void unblock(const float* storage, const TensorLayout& layout, const std::vector<int64_t>& logical, float* dense);

} // namespace convtune
