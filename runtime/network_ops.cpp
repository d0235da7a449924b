/// \file Non-convolution layers as plain loops, for f32 and double.
#include "runtime/network_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ir/error.h"

namespace convtune {

template <class T> T activate(const Activation& a, T x) {
  switch (a.kind) {
  case Activation::Kind::None: return x;
  case Activation::Kind::Relu: return std::max(x, T(0));
  case Activation::Kind::Clip: return std::min(std::max(x, T(a.lo)), T(a.hi));
  case Activation::Kind::Sigmoid: return T(1) / (T(1) + std::exp(-x));
  case Activation::Kind::HardSigmoid: return std::max(T(0), std::min(T(1), T(a.alpha) * x + T(a.beta)));
  case Activation::Kind::HardSwish: return x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5)));
  }
  return x;
}

namespace {

template <class T> void elementwise(const NetLayer& l, const NetTensor& x, const NetTensor& other, const std::vector<const T*>& in, T* out) {
  const int64_t n = x.n(), c = x.c(), plane = x.h() * x.w();
  const bool per_channel_other = l.binary != LayerBinary::None && other.elements() != x.elements();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const T scale = l.scale.empty() ? T(1) : T(l.scale[size_t(ch)]);
      const T shift = l.shift.empty() ? T(0) : T(l.shift[size_t(ch)]);
      const int64_t base = (b * c + ch) * plane;
      for (int64_t i = 0; i < plane; ++i) {
        T v = in[0][base + i];
        if (!l.scale.empty() || !l.shift.empty()) v = v * scale + shift;
        if (l.binary != LayerBinary::None) {
          const T o = per_channel_other ? in[1][b * c + ch] : in[1][base + i];
          v = l.binary == LayerBinary::Add ? v + o : v * o;
        }
        out[base + i] = activate(l.activation, v);
      }
    }
  }
}

} // namespace

template <class T>
void run_layer_op(const NetLayer& l, const std::vector<NetTensor>& tensors, const std::vector<const T*>& in, T* out) {
  internal_check(in.size() == l.inputs.size(), "run_layer_op: inputs of " + l.name);
  const NetTensor& x = tensors[l.inputs[0]];
  const NetTensor& y = tensors[l.output];
  switch (l.kind) {
  case LayerKind::GlobalAvgPool: {
    const int64_t plane = x.h() * x.w();
    for (int64_t i = 0; i < x.n() * x.c(); ++i) {
      T sum = 0;
      for (int64_t j = 0; j < plane; ++j) sum += in[0][i * plane + j];
      out[i] = sum / T(plane);
    }
    return;
  }
  case LayerKind::Elementwise:
    return elementwise(l, x, tensors[l.inputs.size() > 1 ? l.inputs[1] : l.inputs[0]], in, out);
  case LayerKind::Concat: {
    // Per image, each input's channels one after another.
    const int64_t plane = y.h() * y.w();
    for (int64_t b = 0; b < y.n(); ++b) {
      int64_t at = b * y.c() * plane;
      for (size_t i = 0; i < l.inputs.size(); ++i) {
        const int64_t len = tensors[l.inputs[i]].c() * plane;
        std::copy(in[i] + b * len, in[i] + (b + 1) * len, out + at);
        at += len;
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
          out[(i * y.h() + h) * y.w() + w] = inside ? in[0][(i * x.h() + sh) * x.w() + sw] : T(l.pad_value);
        }
      }
    }
    return;
  case LayerKind::Copy:
    std::copy(in[0], in[0] + x.elements(), out);
    return;
  case LayerKind::Conv:
  case LayerKind::Pool:
    break;
  }
  throw InternalError("internal error: run_layer_op of the " + std::string(layer_kind_name(l.kind)) + " layer " + l.name);
}

template float activate(const Activation&, float);
template double activate(const Activation&, double);
template void run_layer_op(const NetLayer&, const std::vector<NetTensor>&, const std::vector<const float*>&, float*);
template void run_layer_op(const NetLayer&, const std::vector<NetTensor>&, const std::vector<const double*>&, double*);

} // namespace convtune
