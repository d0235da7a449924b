/// \file Layer fusion: epilogues, elementwise chains and zero padding merged into producers.
#include "compiler/network_fusion.h"

#include <algorithm>

namespace convtune {

namespace {

/// The epilogue's spelling of an activation: "relu", "relu6", or "" when it has none.
/// `fits` is false for an activation no epilogue computes.
std::string epilogue_activation(const Activation& a, bool& fits) {
  fits = true;
  if (a.kind == Activation::Kind::None) return "";
  if (a.kind == Activation::Kind::Relu) return "relu";
  if (a.kind == Activation::Kind::Clip && a.lo == 0.0f && a.hi == 6.0f) return "relu6";
  fits = false;
  return "";
}

class Fuser {
public:
  explicit Fuser(Network& net) : net_(net) {}

  void run() {
    bool changed = true;
    while (changed) {
      changed = false;
      readers_ = net_.consumers();
      producer_.assign(net_.tensors.size(), -1);
      for (size_t i = 0; i < net_.layers.size(); ++i) producer_[net_.layers[i].output] = int(i);
      for (size_t i = 0; i < net_.layers.size() && !changed; ++i) changed = fuse_into_producer(int(i));
    }
    net_.sort();
  }

private:
  /// The layer writing tensor `t` when `reader` is its only reader and it is not the result.
  int sole_producer(int t, int reader) const {
    if (t == net_.output || readers_[t].size() != 1 || readers_[t][0] != reader) return -1;
    return producer_[t];
  }

  /// `consumer`'s work is now done by `producer`, which writes the consumer's output.
  void absorb(int producer, int consumer) {
    NetLayer& p = net_.layers[producer];
    NetLayer& c = net_.layers[consumer];
    p.output = c.output;
    p.nodes.insert(p.nodes.end(), c.nodes.begin(), c.nodes.end());
    net_.layers.erase(net_.layers.begin() + consumer);
  }

  bool fuse_into_producer(int i) {
    NetLayer& l = net_.layers[i];
    if (l.kind == LayerKind::Conv || (l.kind == LayerKind::Pool && l.wl.op == "avgpool" && l.wl.count_include_pad)) {
      return pad_into(i);
    }
    if (l.kind != LayerKind::Elementwise) return false;
    const bool activation_only = l.binary == LayerBinary::None && l.scale.empty() && l.shift.empty() && !l.activation.none();
    if (activation_only) {
      const int p = sole_producer(l.inputs[0], i);
      if (p >= 0 && net_.layers[p].kind == LayerKind::Elementwise && net_.layers[p].activation.none()) {
        net_.layers[p].activation = l.activation;
        absorb(p, i);
        return true;
      }
    }
    if (l.binary == LayerBinary::Mul && silu_into(i)) return true;
    if (l.binary == LayerBinary::None) return epilogue_into(i, l.inputs[0], -1);
    if (l.binary == LayerBinary::Add && l.scale.empty() && l.shift.empty() &&
        net_.tensors[l.inputs[0]].shape == net_.tensors[l.inputs[1]].shape && l.inputs[0] != l.inputs[1]) {
      return epilogue_into(i, l.inputs[0], l.inputs[1]) || epilogue_into(i, l.inputs[1], l.inputs[0]);
    }
    return false;
  }

  /// x * sigmoid(x) (swish, as EfficientNet exports it): Mul `i` and the Sigmoid it alone reads
  /// become one pass over x.
  bool silu_into(int i) {
    const NetLayer& mul = net_.layers[i];
    if (!mul.scale.empty() || !mul.shift.empty() || !mul.activation.none() || mul.inputs[0] == mul.inputs[1]) return false;
    for (int side = 0; side < 2; ++side) {
      const int x = mul.inputs[1 - side];
      const int p = sole_producer(mul.inputs[side], i);
      if (p < 0) continue;
      const NetLayer& gate = net_.layers[p];
      if (gate.kind != LayerKind::Elementwise || gate.binary != LayerBinary::None || !gate.scale.empty() ||
          !gate.shift.empty() || gate.activation.kind != Activation::Kind::Sigmoid || gate.inputs[0] != x) {
        continue;
      }
      NetLayer& silu = net_.layers[i];
      silu.inputs = {x};
      silu.binary = LayerBinary::None;
      silu.activation = Activation{Activation::Kind::Silu};
      silu.nodes.insert(silu.nodes.begin(), gate.nodes.begin(), gate.nodes.end());
      net_.layers.erase(net_.layers.begin() + p);
      return true;
    }
    return false;
  }

  /// A zero Pad of H and W before convolution (or average counting padding) `i`.
  bool pad_into(int i) {
    NetLayer& l = net_.layers[i];
    const int p = sole_producer(l.inputs[0], i);
    if (p < 0 || net_.layers[p].kind != LayerKind::Pad || net_.layers[p].pad_value != 0.0f) return false;
    const NetLayer& pad = net_.layers[p];
    const NetTensor& x = net_.tensors[pad.inputs[0]];
    l.wl.h = x.h(), l.wl.w = x.w();
    l.wl.pad_top += pad.pad_top, l.wl.pad_left += pad.pad_left;
    l.wl.pad_bottom += pad.pad_bottom, l.wl.pad_right += pad.pad_right;
    l.inputs[0] = pad.inputs[0];
    l.nodes.insert(l.nodes.end(), pad.nodes.begin(), pad.nodes.end());
    net_.layers.erase(net_.layers.begin() + p);
    return true;
  }

  /// Elementwise layer `i` into the epilogue of the convolution writing `operand`, with
  /// `residual` as the epilogue's added tensor (-1: none).
  bool epilogue_into(int i, int operand, int residual) {
    const NetLayer& l = net_.layers[i];
    const int p = sole_producer(operand, i);
    if (p < 0 || net_.layers[p].kind != LayerKind::Conv) return false;
    NetLayer& conv = net_.layers[p];
    Workload& wl = conv.wl;
    const bool has_activation = !wl.epilogue_activation().empty();
    bool fits = true;
    const std::string activation = epilogue_activation(l.activation, fits);
    const bool affine = !l.scale.empty() || !l.shift.empty();
    // The epilogue computes bias, then the residual, then the activation: a later step cannot
    // go before one already there.
    if (!fits || (affine && (wl.has_residual() || has_activation)) || (residual >= 0 && (wl.has_residual() || has_activation)) ||
        (!activation.empty() && has_activation)) {
      return false;
    }
    // The residual must be ready before the convolution runs: not written after it (or by it).
    if (residual >= 0 && (producer_[residual] == p)) return false;
    if (conv.bias.empty()) conv.bias.assign(size_t(wl.k), 0.0f);
    if (affine) {
      const int64_t per_k = int64_t(conv.weights.size()) / wl.k;
      for (int64_t k = 0; k < wl.k; ++k) {
        const float scale = l.scale.empty() ? 1.0f : l.scale[size_t(k)];
        const float shift = l.shift.empty() ? 0.0f : l.shift[size_t(k)];
        for (int64_t j = 0; j < per_k; ++j) conv.weights[size_t(k * per_k + j)] *= scale;
        conv.bias[size_t(k)] = conv.bias[size_t(k)] * scale + shift;
      }
    }
    std::string epilogue = wl.has_residual() || residual >= 0 ? "bias_add" : "bias";
    const std::string kept = wl.epilogue_activation();
    if (!kept.empty()) epilogue += "_" + kept;
    if (!activation.empty()) epilogue += "_" + activation;
    wl.epilogue = epilogue;
    if (residual >= 0) conv.inputs.push_back(residual);
    absorb(p, i);
    return true;
  }

  Network& net_;
  std::vector<std::vector<int>> readers_;
  std::vector<int> producer_;
};

} // namespace

void fuse_layers(Network& net) { Fuser(net).run(); }

} // namespace convtune
