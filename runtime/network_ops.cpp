/// \file Non-kernel layers through libconvtune_rt.
#include "runtime/network_ops.h"

#include "ir/error.h"
#include "runtime/convtune_net.h"

namespace convtune {

ElementwiseCall elementwise_call(const NetLayer& l, const std::vector<NetTensor>& tensors) {
  const NetTensor& x = tensors[l.inputs[0]];
  ElementwiseCall call;
  call.n = x.n(), call.c = x.c(), call.plane = x.h() * x.w();
  call.op = l.binary == LayerBinary::Add ? CONVTUNE_BINARY_ADD : l.binary == LayerBinary::Mul ? CONVTUNE_BINARY_MUL : CONVTUNE_BINARY_NONE;
  call.other_per_channel = l.binary != LayerBinary::None && tensors[l.inputs[1]].elements() != x.elements();
  switch (l.activation.kind) {
  case Activation::Kind::None: call.activation = CONVTUNE_ACT_NONE; break;
  case Activation::Kind::Relu: call.activation = CONVTUNE_ACT_RELU; break;
  case Activation::Kind::Clip: call.activation = CONVTUNE_ACT_CLIP; break;
  case Activation::Kind::Sigmoid: call.activation = CONVTUNE_ACT_SIGMOID; break;
  case Activation::Kind::HardSigmoid: call.activation = CONVTUNE_ACT_HARD_SIGMOID; break;
  case Activation::Kind::HardSwish: call.activation = CONVTUNE_ACT_HARD_SWISH; break;
  case Activation::Kind::Silu: call.activation = CONVTUNE_ACT_SILU; break;
  }
  call.lo = l.activation.lo, call.hi = l.activation.hi, call.alpha = l.activation.alpha, call.beta = l.activation.beta;
  return call;
}

void run_layer_op(const NetLayer& l, const std::vector<NetTensor>& tensors, const std::vector<const float*>& in, float* out) {
  internal_check(in.size() == l.inputs.size(), "run_layer_op: inputs of " + l.name);
  const NetTensor& x = tensors[l.inputs[0]];
  const NetTensor& y = tensors[l.output];
  switch (l.kind) {
  case LayerKind::GlobalAvgPool:
    return convtune_global_avg_pool(x.n() * x.c(), x.h() * x.w(), in[0], out);
  case LayerKind::Elementwise: {
    const ElementwiseCall e = elementwise_call(l, tensors);
    return convtune_elementwise(e.n, e.c, e.plane, in[0], l.scale.empty() ? nullptr : l.scale.data(),
                                l.shift.empty() ? nullptr : l.shift.data(), e.op, e.op ? in[1] : nullptr, e.other_per_channel,
                                e.activation, e.lo, e.hi, e.alpha, e.beta, out);
  }
  case LayerKind::Concat: {
    std::vector<int64_t> channels;
    for (int t : l.inputs) channels.push_back(tensors[t].c());
    return convtune_concat(y.n(), y.h() * y.w(), int64_t(in.size()), in.data(), channels.data(), out);
  }
  case LayerKind::Pad:
    return convtune_pad(x.n() * x.c(), x.h(), x.w(), l.pad_top, l.pad_left, l.pad_bottom, l.pad_right, l.pad_value, in[0], out);
  case LayerKind::Copy:
    return convtune_copy(x.elements(), in[0], out);
  case LayerKind::ChannelShuffle:
    return convtune_channel_shuffle(x.n(), l.groups, x.c() / l.groups, x.h() * x.w(), in[0], out);
  case LayerKind::Slice:
    return convtune_slice_channels(x.n(), x.c(), l.slice_begin, y.c(), x.h() * x.w(), in[0], out);
  case LayerKind::Conv:
  case LayerKind::Pool:
    break;
  }
  throw InternalError("internal error: run_layer_op of the " + std::string(layer_kind_name(l.kind)) + " layer " + l.name);
}

void fill_exterior(float* storage, const TensorLayout& l, int64_t channels, int64_t rows, int64_t columns) {
  convtune_fill_exterior(storage, l.shape[0], l.shape[1], l.shape[2], l.shape[3], l.block, l.top, l.left, channels, rows, columns,
                         float(l.exterior));
}

} // namespace convtune
