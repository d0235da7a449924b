/// \file The network reference interpreter.
#include "runtime/network_reference.h"

#include <cmath>
#include <limits>

#include "runtime/network_ops.h"
#include "runtime/reference_conv.h"
#include "runtime/tensor.h"

namespace convtune {

namespace {

Tensor to_tensor(const std::vector<double>& values) {
  Tensor t(int64_t(values.size()));
  for (size_t i = 0; i < values.size(); ++i) t[int64_t(i)] = float(values[i]);
  return t;
}

Tensor to_tensor(const std::vector<float>& values) {
  Tensor t(int64_t(values.size()));
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

} // namespace

std::vector<std::vector<double>> reference_network(const Network& net, const std::vector<float>& input) {
  std::vector<std::vector<double>> values(net.tensors.size());
  values[net.input].assign(input.begin(), input.end());
  for (const NetLayer& l : net.layers) {
    std::vector<double>& out = values[l.output];
    out.assign(size_t(net.tensors[l.output].elements()), 0.0);
    if (l.kind == LayerKind::Conv || l.kind == LayerKind::Pool) {
      // The reference convolution reads f32 operands and sums in double; its inputs are the
      // previous layers' references rounded once.
      const Tensor x = to_tensor(values[l.inputs[0]]);
      const Tensor w = to_tensor(l.weights), b = to_tensor(l.bias);
      const Tensor residual = l.inputs.size() > 1 ? to_tensor(values[l.inputs[1]]) : Tensor();
      out = reference_layer(l.wl, x, {&w, &b, &residual}).output;
      continue;
    }
    std::vector<const double*> in;
    for (int t : l.inputs) in.push_back(values[t].data());
    run_layer_op<double>(l, net.tensors, in, out.data());
  }
  return values;
}

double relative_error(const float* values, const std::vector<double>& reference) {
  double largest = 0, worst = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    if (!std::isfinite(values[i])) return std::numeric_limits<double>::infinity();
    largest = std::max(largest, std::fabs(reference[i]));
    worst = std::max(worst, std::fabs(double(values[i]) - reference[i]));
  }
  if (largest == 0) return worst == 0 ? 0 : std::numeric_limits<double>::infinity();
  return worst / largest;
}

} // namespace convtune
