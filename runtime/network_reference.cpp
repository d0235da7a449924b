/// \file The network reference interpreter.
#include "runtime/network_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/reference_conv.h"
#include "runtime/tensor.h"

namespace convtune {

namespace {

double activate(const Activation& a, double x) {
  switch (a.kind) {
  case Activation::Kind::None: return x;
  case Activation::Kind::Relu: return std::max(x, 0.0);
  case Activation::Kind::Clip: return std::min(std::max(x, double(a.lo)), double(a.hi));
  case Activation::Kind::Sigmoid: return 1 / (1 + std::exp(-x));
  case Activation::Kind::HardSigmoid: return std::max(0.0, std::min(1.0, double(a.alpha) * x + double(a.beta)));
  case Activation::Kind::HardSwish: return x * std::max(0.0, std::min(1.0, x / 6 + 0.5));
  case Activation::Kind::Silu: return x / (1 + std::exp(-x));
  }
  return x;
}

/// The layers that are not convolutions or pooling, in double, written apart from the f32
/// runtime's (runtime/convtune_net.c) so that each checks the other.
void reference_op(const NetLayer& l, const std::vector<NetTensor>& tensors, const std::vector<const double*>& in, double* out) {
  const NetTensor& x = tensors[l.inputs[0]];
  const NetTensor& y = tensors[l.output];
  const int64_t plane = x.h() * x.w();
  switch (l.kind) {
  case LayerKind::GlobalAvgPool:
    for (int64_t i = 0; i < x.n() * x.c(); ++i) {
      double sum = 0;
      for (int64_t j = 0; j < plane; ++j) sum += in[0][i * plane + j];
      out[i] = sum / double(plane);
    }
    return;
  case LayerKind::Elementwise: {
    const bool broadcast = l.binary != LayerBinary::None && tensors[l.inputs[1]].elements() != x.elements();
    for (int64_t i = 0; i < x.elements(); ++i) {
      const int64_t nc = i / plane, ch = nc % x.c();
      double v = in[0][i];
      if (!l.scale.empty()) v *= l.scale[size_t(ch)];
      if (!l.shift.empty()) v += l.shift[size_t(ch)];
      if (l.binary == LayerBinary::Add) v += in[1][broadcast ? nc : i];
      if (l.binary == LayerBinary::Mul) v *= in[1][broadcast ? nc : i];
      out[i] = activate(l.activation, v);
    }
    return;
  }
  case LayerKind::Concat: {
    const int64_t out_plane = y.h() * y.w();
    for (int64_t b = 0; b < y.n(); ++b) {
      int64_t channel = 0;
      for (size_t i = 0; i < l.inputs.size(); ++i) {
        const int64_t c = tensors[l.inputs[i]].c();
        for (int64_t j = 0; j < c * out_plane; ++j) out[(b * y.c() + channel) * out_plane + j] = in[i][b * c * out_plane + j];
        channel += c;
      }
    }
    return;
  }
  case LayerKind::Pad:
    for (int64_t i = 0; i < x.n() * x.c(); ++i) {
      for (int64_t h = 0; h < y.h(); ++h) {
        for (int64_t w = 0; w < y.w(); ++w) {
          const int64_t sh = h - l.pad_top, sw = w - l.pad_left;
          const bool inside = sh >= 0 && sh < x.h() && sw >= 0 && sw < x.w();
          out[(i * y.h() + h) * y.w() + w] = inside ? in[0][(i * x.h() + sh) * x.w() + sw] : double(l.pad_value);
        }
      }
    }
    return;
  case LayerKind::Copy:
    std::copy(in[0], in[0] + x.elements(), out);
    return;
  case LayerKind::ChannelShuffle: {
    // The definition: x as N x g x C/g x HW, its two middle axes swapped.
    const int64_t g = l.groups, per = x.c() / g;
    for (int64_t b = 0; b < x.n(); ++b) {
      for (int64_t ch = 0; ch < x.c(); ++ch) {
        const int64_t i = ch % g, j = ch / g;  // output channel ch = j * g + i
        for (int64_t k = 0; k < plane; ++k) out[(b * x.c() + ch) * plane + k] = in[0][(b * x.c() + i * per + j) * plane + k];
      }
    }
    return;
  }
  case LayerKind::Slice:
    for (int64_t b = 0; b < y.n(); ++b) {
      for (int64_t ch = 0; ch < y.c(); ++ch) {
        for (int64_t k = 0; k < plane; ++k) out[(b * y.c() + ch) * plane + k] = in[0][(b * x.c() + l.slice_begin + ch) * plane + k];
      }
    }
    return;
  case LayerKind::Conv:
  case LayerKind::Pool:
    break;
  }
}

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
    if (l.has_kernel()) {
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
    reference_op(l, net.tensors, in, out.data());
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
