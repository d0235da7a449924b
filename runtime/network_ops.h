/// \file The layers of a network that are not compiled kernels, run in f32 through libconvtune_rt
/// (runtime/convtune_net.h): the JIT runner calls run_layer_op, and the ahead-of-time library's
/// driver emits the same calls with the constants these functions derive.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/network.h"
#include "ir/tensor_layout.h"

namespace convtune {

/// The scalar arguments of convtune_elementwise for an Elementwise layer.
struct ElementwiseCall {
  int64_t n = 1, c = 1, plane = 1;
  int64_t op = 0;                 ///< CONVTUNE_BINARY_*
  int64_t other_per_channel = 0;
  int64_t activation = 0;         ///< CONVTUNE_ACT_*
  float lo = 0, hi = 0, alpha = 0, beta = 0;
};
ElementwiseCall elementwise_call(const NetLayer& layer, const std::vector<NetTensor>& tensors);

/// Computes a GlobalAvgPool, Elementwise, Concat, Pad or Copy layer from `inputs` (one per
/// layer.inputs) into `output`.
void run_layer_op(const NetLayer& layer, const std::vector<NetTensor>& tensors, const std::vector<const float*>& inputs, float* output);

/// Writes `layout.exterior` into every element of `storage` outside the logical
/// n x channels x rows x columns tensor it holds (convtune_fill_exterior).
void fill_exterior(float* storage, const TensorLayout& layout, int64_t channels, int64_t rows, int64_t columns);

} // namespace convtune
