/// \file The data a layer is checked and timed on: seeded random input and operands (weights,
/// bias, residual, as the workload has them), an output buffer, and the reference result,
/// made once and shared by every candidate of the layer.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/workload.h"
#include "runtime/reference_conv.h"
#include "runtime/tensor.h"

namespace convtune {

struct ConvProblem {
  Workload wl;
  Tensor input, weights, bias, residual, output;  ///< empty where the workload has none
  Reference ref;
  /// The reference held to the error model of `algorithm` (ir/algorithms.h): `ref` for the
  /// exact-order ones, Winograd's bound for winograd_fM (made on first use, then kept).
  const Reference& reference_for(const std::string& algorithm);

  /// Input from `seed`, weights from `seed + 1` (the given ones where the workload has them),
  /// bias from `seed + 2`, residual from `seed + 3`; the reference computed.
  static ConvProblem make(const Workload& wl, uint64_t seed);
  /// The tensor a kernel parameter of this name binds to ("input", "weights", "bias",
  /// "residual", "output"); InternalError for another name or one the workload lacks.
  Tensor& tensor(const std::string& name);
  LayerOperands operands() const { return {&weights, &bias, &residual}; }
  /// Fills the output with garbage (so a kernel that skips an element fails the check), then
  /// runs `fn` and compares the output with the reference.
  template <class F> Agreement check(F&& fn, const std::string& algorithm = "") {
    const Reference& expected = reference_for(algorithm);
    output.fill_random(0x5eed);
    fn();
    return check_against_reference(wl, expected, output);
  }

private:
  std::map<std::string, Reference> other_references_;
};

} // namespace convtune
