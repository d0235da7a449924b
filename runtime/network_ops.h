/// \file The layers of a network that are not convolutions or pooling (GlobalAvgPool,
/// Elementwise, Concat, Pad, Copy) as plain loops over dense NCHW data, in f32 for running a
/// network and in double for its reference: one definition serves both.
#pragma once

#include <vector>

#include "ir/network.h"

namespace convtune {

/// Computes `layer` from `inputs` (one per layer.inputs, in order) into `output`.
/// T is float or double.
template <class T>
void run_layer_op(const NetLayer& layer, const std::vector<NetTensor>& tensors, const std::vector<const T*>& inputs, T* output);

/// The activation of an Elementwise layer at one value.
template <class T> T activate(const Activation& a, T x);

} // namespace convtune
