/// \file A network: the layers of a model (imported from ONNX), the tensors between them, their
/// order, and the workspace plan that places the intermediate tensors.
///
/// Every tensor is f32 and dense NCHW; a 2-D tensor (N x F, what Flatten, Gemm and MatMul make)
/// is held as N x F x 1 x 1, so each layer reads and writes the four dimensions alone. Layers are
/// what convtune runs, after fusion: a convolution carries what follows it in its epilogue.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/workload.h"

namespace convtune {

/// What a layer computes.
enum class LayerKind {
  Conv,           ///< Workload op "conv" with its epilogue; Gemm and MatMul become 1x1 convolutions
  Pool,           ///< Workload op "maxpool" or "avgpool"
  GlobalAvgPool,  ///< the mean over H x W of each channel: N x C x 1 x 1
  Elementwise,    ///< y = activation((x * scale[c] + shift[c]) binary other), each part optional
  Concat,         ///< the inputs one after another along channels
  Pad,            ///< constant padding of H and W
  Copy,           ///< the same elements under another shape (Flatten, Reshape)
  ChannelShuffle, ///< channel j * groups + i of the output is channel i * (C / groups) + j of the input
  Slice,          ///< the input's channels [slice_begin, slice_begin + the output's channels)
};
const char* layer_kind_name(LayerKind kind);

/// An activation applied elementwise.
struct Activation {
  /// Silu: x * sigmoid(x) (swish), a Sigmoid and the Mul by its input fused into one pass.
  enum class Kind { None, Relu, Clip, Sigmoid, HardSigmoid, HardSwish, Silu } kind = Kind::None;
  float lo = 0, hi = 0;           ///< Clip's bounds
  float alpha = 0.2f, beta = 0.5f;  ///< HardSigmoid: max(0, min(1, alpha x + beta))
  bool none() const { return kind == Kind::None; }
  std::string describe() const;
};

/// What an Elementwise layer combines its input with: nothing, or its second input, of the
/// same shape or N x C x 1 x 1 (broadcast over H and W).
enum class LayerBinary { None, Add, Mul };

struct NetTensor {
  std::string name;
  std::vector<int64_t> shape;  ///< as the model has it: rank 4 (NCHW) or rank 2 (N x F)
  int producer = -1;           ///< the layer writing it; -1: the network's input

  int64_t n() const { return shape[0]; }
  int64_t c() const { return shape[1]; }
  int64_t h() const { return shape.size() > 2 ? shape[2] : 1; }
  int64_t w() const { return shape.size() > 3 ? shape[3] : 1; }
  std::vector<int64_t> nchw() const { return {n(), c(), h(), w()}; }  ///< the four dimensions, a 2-D one as N x F x 1 x 1
  int64_t elements() const;
  int64_t bytes() const { return 4 * elements(); }
  std::string shape_text() const;  ///< "1x64x56x56"
};

struct NetLayer {
  std::string name;               ///< the model's node name (its op and number when unnamed)
  LayerKind kind = LayerKind::Copy;
  std::vector<int> inputs;        ///< the tensors read, in order
  int output = -1;                ///< the tensor written

  /// Conv and Pool: the layer as convtune compiles and tunes it. A Conv's residual (epilogue
  /// bias_add*) is inputs[1].
  Workload wl;
  std::vector<float> weights;     ///< Conv: KCRS
  std::vector<float> bias;        ///< Conv: K, when the epilogue has a bias

  /// Elementwise: per-channel scale and shift (empty: 1 and 0), the binary operation with
  /// inputs[1], then the activation.
  std::vector<float> scale, shift;
  LayerBinary binary = LayerBinary::None;
  Activation activation;

  /// ChannelShuffle: the groups; Slice: the first channel taken.
  int64_t groups = 1, slice_begin = 0;

  /// Pad: the pads (top, left, bottom, right) and the value of padded elements.
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  float pad_value = 0;

  /// The model's nodes this layer stands for, "Op name", its own first.
  std::vector<std::string> nodes;

  /// Whether a compiled kernel runs the layer (a convolution or pooling: `wl` describes it).
  bool has_kernel() const { return kind == LayerKind::Conv || kind == LayerKind::Pool; }

  /// Multiply-adds counted as for a workload (2 per product); other layers one per output element.
  double flops(const std::vector<NetTensor>& tensors) const;
};

/// Where an intermediate tensor lives in the network's workspace.
struct TensorPlacement {
  int tensor = -1;
  int64_t offset_bytes = 0;  ///< a multiple of 64
  int64_t bytes = 0;
  int first_layer = 0, last_layer = 0;  ///< the layers writing it first and reading it last
};

/// The workspace plan: every tensor but the network's input and output placed so that two
/// tensors alive at once never overlap.
struct WorkspacePlan {
  std::vector<TensorPlacement> placements;  ///< by offset
  int64_t workspace_bytes = 0;   ///< the plan's extent
  int64_t sum_bytes = 0;         ///< every intermediate apart: the naive plan
  int64_t peak_live_bytes = 0;   ///< the most bytes alive at one layer: no plan does better
  int64_t offset_of(int tensor) const;  ///< -1 when not placed
};

struct Network {
  std::string name;
  std::vector<NetTensor> tensors;
  std::vector<NetLayer> layers;  ///< in an order where each layer follows those it reads from
  int input = -1, output = -1;   ///< the tensors the caller gives and receives

  double flops() const;
  /// The layers reading each tensor.
  std::vector<std::vector<int>> consumers() const;
  /// Puts the layers in topological order (Boost.Graph) and drops those the output does not
  /// need. UserError naming a layer on a cycle, or a tensor read before anything writes it.
  void sort();
  /// Checks every layer's shapes against its inputs; InternalError on a mismatch (a bug of the
  /// importer or of fusion, not of the model).
  void verify() const;
  /// Liveness over the layer order and the offsets, by a greedy colouring of the interference
  /// graph: largest tensor first, each at the lowest offset free of the tensors it interferes with.
  /// `storage_bytes`, when given, is each tensor's size as stored (a blocked layout's padding)
  /// where it differs from its dense size (0: dense).
  WorkspacePlan plan_workspace(const std::vector<int64_t>& storage_bytes = {}) const;
};

} // namespace convtune
