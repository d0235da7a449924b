/// \file The data a layer is checked and timed on: seeded random input and weights, an output
/// buffer, and the reference result, made once and shared by every candidate of the layer.
#pragma once

#include <cstdint>

#include "ir/workload.h"
#include "runtime/reference_conv.h"
#include "runtime/tensor.h"

namespace convtune {

struct ConvProblem {
  Workload wl;
  Tensor input, weights, output;
  Reference ref;

  /// Input from `seed`, weights from `seed + 1`, the reference computed.
  static ConvProblem make(const Workload& wl, uint64_t seed);
  /// Fills the output with garbage (so a kernel that skips an element fails the check), then
  /// runs `fn` and compares the output with the reference.
  template <class F> Agreement check(F&& fn) {
    output.fill_random(0x5eed);
    fn();
    return check_against_reference(wl, ref, output);
  }
};

} // namespace convtune
