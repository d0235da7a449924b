/// \file The reference interpreter of a network: every layer in plain loops, convolutions and
/// pooling through the reference convolution, values kept in double between layers.
#pragma once

#include <string>
#include <vector>

#include "ir/network.h"

namespace convtune {

/// Every tensor of `net` computed from `input` (the network's input, NCHW): indexed like
/// net.tensors; the input's own entry holds the input.
std::vector<std::vector<double>> reference_network(const Network& net, const std::vector<float>& input);

/// How far f32 values are from their reference: the largest difference over the reference's
/// largest magnitude (0 for an all-zero reference that is matched), so that one figure reads the
/// same for every tensor. NaN or Inf anywhere gives infinity.
double relative_error(const float* values, const std::vector<double>& reference);

} // namespace convtune
