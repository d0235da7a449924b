/// \file The reference convolution: plain loops, accumulated in double, the oracle of every test.
#pragma once

#include <vector>

#include "ir/workload.h"
#include "runtime/tensor.h"

namespace convtune {

/// The exact-as-possible result of a workload, and per output element the sum of the
/// magnitudes of its products (what bounds the rounding error of any fp32 summation order).
struct Reference {
  std::vector<double> output;         ///< NKPQ
  std::vector<double> magnitude;      ///< sum over taps of |input * weight|
};

/// Computes the convolution in double from NCHW input and KCRS weights (no epilogue).
Reference reference_conv(const Workload& wl, const Tensor& input, const Tensor& weights);

/// What a layer reads besides its input; null where the workload has none.
struct LayerOperands {
  const Tensor* weights = nullptr;   ///< KCRS, convolutions
  const Tensor* bias = nullptr;      ///< K, epilogues with a bias
  const Tensor* residual = nullptr;  ///< NKPQ, bias_add_relu
};

/// The reference of any workload: a convolution with its epilogue (bias, residual, ReLU, each
/// adding its magnitude), or a pooling layer (max: the largest input tap, exact; avg: the sum
/// of the input taps over their count, or over r*s with count_include_pad).
Reference reference_layer(const Workload& wl, const Tensor& input, const LayerOperands& operands);

/// How an fp32 output compares to the reference.
struct Agreement {
  bool ok = false;
  double max_abs_err = 0;   ///< max |out - ref|
  double max_rel_err = 0;   ///< max |out - ref| / magnitude (0 where magnitude is 0)
  double tolerance = 0;     ///< the bound each element was held to, relative to its magnitude
};

/// Checks `output` (NKPQ, fp32) against the reference. Each element may differ from the exact
/// sum by at most gamma(n) * magnitude, with gamma(n) = n*u / (1 - n*u), u = 2^-24 and n the
/// reduction length plus one, plus one per operation after the sum (an average's division, a
/// bias, a residual; ReLU cannot grow an error): the worst-case bound for fp32 summation in any order
/// (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., sec. 3.1), so a correct
/// kernel can never fail it and a wrong index almost surely does. NaN or Inf always fails.
Agreement check_against_reference(const Workload& wl, const Reference& ref, const Tensor& output);

} // namespace convtune
