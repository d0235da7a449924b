/// \file Layer fusion over an imported network: what follows a convolution goes into its
/// epilogue, chains of elementwise layers become one, zero padding joins the convolution.
///
/// Assumes the layers in topological order (Network::sort) and keeps the network's result:
/// a layer is merged into its producer only where the producer's output has no other reader
/// and is not the network's output.
#pragma once

#include "ir/network.h"

namespace convtune {

/// Fuses in place, in this order until nothing changes:
/// 1. zero Pad of H and W into the convolution reading it (its padding grows);
/// 2. an activation-only Elementwise into the Elementwise before it that has none;
/// 3. into a convolution: a per-channel affine (BatchNormalization; scales the weights and the
///    bias) while its epilogue has no residual or activation; a residual Add of the same shape
///    (the epilogue's `add`) with a ReLU or none after it, while it has neither; ReLU or
///    Clip(0, 6) (`relu`, `relu6`) while it has no activation.
/// Each fused layer's nodes are listed in the layer that absorbed it. Then Network::sort.
void fuse_layers(Network& net);

} // namespace convtune
