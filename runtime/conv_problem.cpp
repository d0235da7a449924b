/// \file Making a layer's check-and-time data.
#include "runtime/conv_problem.h"

namespace convtune {

ConvProblem ConvProblem::make(const Workload& wl, uint64_t seed) {
  ConvProblem p{wl, Tensor(wl.input_elems()), Tensor(wl.weight_elems()), Tensor(wl.output_elems()), {}};
  p.input.fill_random(seed);
  p.weights.fill_random(seed + 1);
  p.ref = reference_conv(wl, p.input, p.weights);
  return p;
}

} // namespace convtune
