/// \file Making a layer's check-and-time data.
#include "runtime/conv_problem.h"

#include "ir/error.h"
#include "runtime/memory_budget.h"

namespace convtune {

ConvProblem ConvProblem::make(const Workload& wl, uint64_t seed) {
  require_memory_for(wl);
  ConvProblem p{wl,
                Tensor(wl.input_elems()),
                Tensor(wl.weight_elems()),
                Tensor(wl.has_bias() ? wl.k : 0),
                Tensor(wl.has_residual() ? wl.output_elems() : 0),
                Tensor(wl.output_elems()),
                {}};
  p.input.fill_random(seed);
  p.weights.fill_random(seed + 1);
  p.bias.fill_random(seed + 2);
  p.residual.fill_random(seed + 3);
  p.ref = reference_layer(wl, p.input, p.operands());
  return p;
}

Tensor& ConvProblem::tensor(const std::string& name) {
  Tensor* t = name == "input"      ? &input
              : name == "weights"  ? &weights
              : name == "bias"     ? &bias
              : name == "residual" ? &residual
              : name == "output"   ? &output
                                   : nullptr;
  internal_check(t != nullptr && t->size() > 0, "no tensor '" + name + "' for " + wl.spec());
  return *t;
}

} // namespace convtune
