/// \file Making a layer's check-and-time data.
#include "runtime/conv_problem.h"

#include <algorithm>

#include "ir/algorithms.h"
#include "ir/error.h"
#include "ir/sparse.h"
#include "runtime/memory_budget.h"

namespace convtune {

ConvProblem ConvProblem::make(const Workload& wl, uint64_t seed) {
  require_memory_for(wl);
  ConvProblem p;
  p.wl = wl;
  p.input = Tensor(wl.input_elems());
  p.weights = Tensor(wl.weight_elems());
  p.bias = Tensor(wl.has_bias() ? wl.k : 0);
  p.residual = Tensor(wl.has_residual() ? wl.output_elems() : 0);
  p.output = Tensor(wl.output_elems());
  p.input.fill_random(seed);
  p.weights.fill_random(seed + 1);
  if (wl.weights.given()) {
    // The layer's own weights: what a sparse kernel was compiled for.
    const std::vector<float>& given = given_weights(wl);
    std::copy(given.begin(), given.end(), p.weights.data());
  }
  p.bias.fill_random(seed + 2);
  p.residual.fill_random(seed + 3);
  p.ref = reference_layer(wl, p.input, p.operands());
  return p;
}

const Reference& ConvProblem::reference_for(const std::string& algorithm) {
  const int m = winograd_tile_of(algorithm);
  if (!m) return ref;
  auto it = other_references_.find(algorithm);
  if (it == other_references_.end()) it = other_references_.emplace(algorithm, reference_layer(wl, input, operands(), m)).first;
  return it->second;
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
