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

/// Computes the convolution in double from NCHW input and KCRS weights.
Reference reference_conv(const Workload& wl, const Tensor& input, const Tensor& weights);

/// How an fp32 output compares to the reference.
struct Agreement {
  bool ok = false;
  double max_abs_err = 0;   ///< max |out - ref|
  double max_rel_err = 0;   ///< max |out - ref| / magnitude (0 where magnitude is 0)
  double tolerance = 0;     ///< the bound each element was held to, relative to its magnitude
};

/// Checks `output` (NKPQ, fp32) against the reference. Each element may differ from the exact
/// sum by at most gamma(n) * magnitude, with gamma(n) = n*u / (1 - n*u), u = 2^-24 and n the
/// reduction length plus one: the worst-case bound for fp32 summation in any order
/// (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., sec. 3.1), so a correct
/// kernel can never fail it and a wrong index almost surely does. NaN or Inf always fails.
Agreement check_against_reference(const Workload& wl, const Reference& ref, const Tensor& output);

} // namespace convtune
