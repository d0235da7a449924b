/// \file The reference convolution: plain loops, accumulated in double, the oracle of every test.
#pragma once

#include <string>
#include <vector>

#include "ir/workload.h"
#include "runtime/tensor.h"

namespace convtune {

/// The exact-as-possible result of a workload, and per output element the sum of the
/// magnitudes of its products (what bounds the rounding error of any fp32 summation order).
struct Reference {
  std::vector<double> output;         ///< NKPQ
  std::vector<double> magnitude;      ///< sum over taps of |input * weight|
  /// The most fp32 roundings a product passes through on its way to an output, when an
  /// algorithm's own count replaces the direct one (the reduction length plus one): 0 for that.
  int64_t roundings = 0;
  std::string bound = "direct";  ///< the error model's name (Agreement::bound)
};

/// Computes the convolution in double from NCHW input and KCRS weights (no epilogue).
Reference reference_conv(const Workload& wl, const Tensor& input, const Tensor& weights);

/// The same result, with the error model of Winograd's F(m x m, 3 x 3) (ir/winograd.h). In exact
/// arithmetic the output is the direct one; in fp32 every product w[c][i][j] * d[c][u][v] of a
/// tile reaches output (p, q) scaled by W(a, i, u) W(b, j, v), a = p % m, b = q % m, with
/// W(a, i, u) = sum over xi of |AT[a][xi] G[xi][i] BT[xi][u]|, through at most
///     (2 products + 2 coefficients + 9 sums: U) + (2 + 2 + alpha^2: V) + (1 + C/groups: the
///     products' sum) + (2 + 2 + alpha^2: Y) = 22 + 2 alpha^2 + C/groups roundings,
/// so the error of any evaluation order is at most gamma(that count) times the magnitude
///     sum over c, i, j, u, v of |w[c][i][j]| |d[c][u][v]| W(a, i, u) W(b, j, v)
/// (Higham's bound for sums of products, applied to the expanded sum). This magnitude is
/// bounded by the tile's inputs, not by the direct taps of (p, q) alone: an output whose own
/// taps are small next to its tile's gets a looser bound than the direct check's, as the
/// algorithm's error is.
Reference reference_winograd(const Workload& wl, const Tensor& input, const Tensor& weights, int m);

/// What a layer reads besides its input; null where the workload has none.
struct LayerOperands {
  const Tensor* weights = nullptr;   ///< KCRS, convolutions
  const Tensor* bias = nullptr;      ///< K, epilogues with a bias
  const Tensor* residual = nullptr;  ///< NKPQ, bias_add*
};

/// The reference of any workload: a convolution with its epilogue (bias, residual, ReLU, each
/// adding its magnitude), or a pooling layer (max: the largest input tap, exact; avg: the sum
/// of the input taps over their count, or over r*s with count_include_pad).
/// `winograd_m` > 0: the convolution with the error model of Winograd's F(m x m, 3 x 3)
/// (reference_winograd), for a kernel of that algorithm.
Reference reference_layer(const Workload& wl, const Tensor& input, const LayerOperands& operands, int winograd_m = 0);

/// How an fp32 output compares to the reference.
struct Agreement {
  bool ok = false;
  double max_abs_err = 0;   ///< max |out - ref|
  double max_rel_err = 0;   ///< max |out - ref| / magnitude (0 where magnitude is 0)
  double tolerance = 0;     ///< the bound each element was held to, relative to its magnitude
  std::string bound = "direct";  ///< whose error model: "direct", or "winograd_fM"
};

/// Checks `output` (NKPQ, fp32) against the reference. Each element may differ from the exact
/// sum by at most gamma(n) * magnitude, with gamma(n) = n*u / (1 - n*u), u = 2^-24 and n the
/// reduction length plus one, plus one per operation after the sum (an average's division, a
/// bias, a residual; ReLU cannot grow an error): the worst-case bound for fp32 summation in any order
/// (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., sec. 3.1), so a correct
/// kernel can never fail it and a wrong index almost surely does. NaN or Inf always fails.
Agreement check_against_reference(const Workload& wl, const Reference& ref, const Tensor& output);

} // namespace convtune
