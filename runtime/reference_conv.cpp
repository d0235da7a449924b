/// \file The reference convolution: plain loops, accumulated in double, the oracle of every test.
#include "runtime/reference_conv.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ir/algorithms.h"
#include "ir/error.h"
#include "ir/winograd.h"

namespace convtune {

namespace {

void check_size(const char* what, int64_t actual, int64_t expected) {
  internal_check(actual == expected, std::string(what) + " has " + std::to_string(actual) +
                                         " elements, the workload needs " +
                                         std::to_string(expected));
}

} // namespace

Reference reference_conv(const Workload& wl, const Tensor& input, const Tensor& weights) {
  check_size("reference_conv input", input.size(), wl.input_elems());
  check_size("reference_conv weights", weights.size(), wl.weight_elems());

  const int64_t P = wl.p(), Q = wl.q();
  const int64_t Cg = wl.c_per_group(), Kg = wl.k_per_group();
  const float* in = input.data();
  const float* wt = weights.data();

  Reference ref;
  ref.output.assign(static_cast<size_t>(wl.output_elems()), 0.0);
  ref.magnitude.assign(static_cast<size_t>(wl.output_elems()), 0.0);

  size_t o = 0; // NKPQ order is exactly the loop order below
  for (int64_t n = 0; n < wl.n; ++n) {
    for (int64_t k = 0; k < wl.k; ++k) {
      const int64_t g = k / Kg;
      for (int64_t p = 0; p < P; ++p) {
        for (int64_t q = 0; q < Q; ++q, ++o) {
          double sum = 0, mag = 0;
          for (int64_t c = 0; c < Cg; ++c) {
            const float* in_plane = in + ((n * wl.c + g * Cg + c) * wl.h) * wl.w;
            const float* w_plane = wt + ((k * Cg + c) * wl.r) * wl.s;
            for (int64_t r = 0; r < wl.r; ++r) {
              const int64_t ih = p * wl.stride_h - wl.pad_top + r * wl.dilation_h;
              if (ih < 0 || ih >= wl.h) continue; // padding taps contribute 0
              const float* in_row = in_plane + ih * wl.w;
              const float* w_row = w_plane + r * wl.s;
              for (int64_t s = 0; s < wl.s; ++s) {
                const int64_t iw = q * wl.stride_w - wl.pad_left + s * wl.dilation_w;
                if (iw < 0 || iw >= wl.w) continue;
                // The product of two floats is exact in double.
                const double prod = static_cast<double>(in_row[iw]) * w_row[s];
                sum += prod;
                mag += std::fabs(prod);
              }
            }
          }
          ref.output[o] = sum;
          ref.magnitude[o] = mag;
        }
      }
    }
  }
  return ref;
}

Reference reference_winograd(const Workload& wl, const Tensor& input, const Tensor& weights, int m) {
  internal_check(winograd_applies(wl), "reference_winograd: " + wl.spec() + " is no layer Winograd computes");
  Reference ref = reference_conv(wl, input, weights);
  const WinogradMatrices& wm = winograd_matrices(m);
  const int64_t alpha = wm.alpha, P = wl.p(), Q = wl.q(), Cg = wl.c_per_group(), Kg = wl.k_per_group();
  const int64_t tiles_w = (Q + m - 1) / m, tiles = (P + m - 1) / m * tiles_w;
  // W(a, i, u): how much a product of filter tap i and tile input u can weigh in output a.
  std::vector<double> weight(size_t(m * 3 * alpha), 0.0);
  for (int64_t a = 0; a < m; ++a) {
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t u = 0; u < alpha; ++u) {
        double s = 0;
        for (int64_t xi = 0; xi < alpha; ++xi) {
          s += std::fabs(wm.at[size_t(a)][size_t(xi)] * wm.g[size_t(xi)][size_t(i)] * wm.bt[size_t(xi)][size_t(u)]);
        }
        weight[size_t((a * 3 + i) * alpha + u)] = s;
      }
    }
  }
  const auto W = [&](int64_t a, int64_t i, int64_t u) { return weight[size_t((a * 3 + i) * alpha + u)]; };
  // E(n, c, tile, a, b, i, j) = sum over u, v of W(a, i, u) W(b, j, v) |d[c][u][v]|: what the
  // weights' tap (i, j) is multiplied by, independent of the output channel.
  std::vector<double> e(size_t(wl.n * wl.c * tiles * m * m * 9), 0.0), d(size_t(alpha * alpha)), f(size_t(m * 3 * alpha));
  for (int64_t n = 0; n < wl.n; ++n) {
    for (int64_t c = 0; c < wl.c; ++c) {
      for (int64_t t = 0; t < tiles; ++t) {
        for (int64_t u = 0; u < alpha; ++u) {
          for (int64_t v = 0; v < alpha; ++v) {
            const int64_t ih = t / tiles_w * m + u - wl.pad_top, iw = t % tiles_w * m + v - wl.pad_left;
            const bool inside = ih >= 0 && ih < wl.h && iw >= 0 && iw < wl.w;
            d[size_t(u * alpha + v)] = inside ? std::fabs(double(input[((n * wl.c + c) * wl.h + ih) * wl.w + iw])) : 0.0;
          }
        }
        for (int64_t a = 0; a < m; ++a) {
          for (int64_t i = 0; i < 3; ++i) {
            for (int64_t v = 0; v < alpha; ++v) {
              double s = 0;
              for (int64_t u = 0; u < alpha; ++u) s += W(a, i, u) * d[size_t(u * alpha + v)];
              f[size_t((a * 3 + i) * alpha + v)] = s;
            }
          }
        }
        double* out = &e[size_t(((n * wl.c + c) * tiles + t) * m * m * 9)];
        for (int64_t a = 0; a < m; ++a) {
          for (int64_t b = 0; b < m; ++b) {
            for (int64_t i = 0; i < 3; ++i) {
              for (int64_t j = 0; j < 3; ++j) {
                double s = 0;
                for (int64_t v = 0; v < alpha; ++v) s += W(b, j, v) * f[size_t((a * 3 + i) * alpha + v)];
                out[((a * m + b) * 3 + i) * 3 + j] = s;
              }
            }
          }
        }
      }
    }
  }
  size_t o = 0;
  for (int64_t n = 0; n < wl.n; ++n) {
    for (int64_t k = 0; k < wl.k; ++k) {
      const int64_t g = k / Kg;
      for (int64_t p = 0; p < P; ++p) {
        for (int64_t q = 0; q < Q; ++q, ++o) {
          const int64_t t = p / m * tiles_w + q / m, ab = (p % m) * m + q % m;
          double mag = 0;
          for (int64_t c = 0; c < Cg; ++c) {
            const double* taps = &e[size_t((((n * wl.c + g * Cg + c) * tiles + t) * m * m + ab) * 9)];
            const float* w = weights.data() + (k * Cg + c) * 9;
            for (int64_t ij = 0; ij < 9; ++ij) mag += std::fabs(double(w[ij])) * taps[ij];
          }
          ref.magnitude[o] = mag;
        }
      }
    }
  }
  ref.roundings = 22 + 2 * alpha * alpha + Cg;
  ref.bound = "winograd_f" + std::to_string(m);
  return ref;
}

namespace {

Reference reference_pool(const Workload& wl, const Tensor& input) {
  check_size("reference_pool input", input.size(), wl.input_elems());
  const int64_t P = wl.p(), Q = wl.q();
  const bool is_max = wl.op == "maxpool";
  Reference ref;
  ref.output.assign(static_cast<size_t>(wl.output_elems()), 0.0);
  ref.magnitude.assign(static_cast<size_t>(wl.output_elems()), 0.0);
  size_t o = 0;
  for (int64_t n = 0; n < wl.n; ++n) {
    for (int64_t c = 0; c < wl.c; ++c) {
      const float* plane = input.data() + (n * wl.c + c) * wl.h * wl.w;
      for (int64_t p = 0; p < P; ++p) {
        for (int64_t q = 0; q < Q; ++q, ++o) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0, mag = 0;
          int64_t count = 0;
          for (int64_t r = 0; r < wl.r; ++r) {
            const int64_t ih = p * wl.stride_h - wl.pad_top + r * wl.dilation_h;
            if (ih < 0 || ih >= wl.h) continue;  // padded taps are skipped
            for (int64_t s = 0; s < wl.s; ++s) {
              const int64_t iw = q * wl.stride_w - wl.pad_left + s * wl.dilation_w;
              if (iw < 0 || iw >= wl.w) continue;
              const double x = plane[ih * wl.w + iw];
              best = std::max(best, x);
              sum += x;
              mag += std::fabs(x);
              ++count;
            }
          }
          internal_check(count > 0, "reference_pool: a window without input taps passed validation");
          const double divisor = wl.count_include_pad ? double(wl.r * wl.s) : double(count);
          ref.output[o] = is_max ? best : sum / divisor;
          ref.magnitude[o] = is_max ? std::fabs(best) : mag / divisor;
        }
      }
    }
  }
  return ref;
}

/// Operations after the reduction, each one more rounding of the result.
int64_t roundings_after_sum(const Workload& wl) {
  return (wl.op == "avgpool" ? 1 : 0) + (wl.has_bias() ? 1 : 0) + (wl.has_residual() ? 1 : 0);
}

} // namespace

Reference reference_layer(const Workload& wl, const Tensor& input, const LayerOperands& operands, int winograd_m) {
  if (wl.is_pool()) return reference_pool(wl, input);
  internal_check(operands.weights != nullptr, "reference_layer: a convolution needs weights");
  Reference ref = winograd_m > 0 ? reference_winograd(wl, input, *operands.weights, winograd_m) : reference_conv(wl, input, *operands.weights);
  if (!wl.has_bias()) return ref;
  internal_check(operands.bias != nullptr && (!wl.has_residual() || operands.residual != nullptr),
                 "reference_layer: the epilogue's bias or residual is missing");
  check_size("reference bias", operands.bias->size(), wl.k);
  if (wl.has_residual()) check_size("reference residual", operands.residual->size(), wl.output_elems());
  const std::string activation = wl.epilogue_activation();
  const int64_t plane = wl.p() * wl.q();
  for (size_t o = 0; o < ref.output.size(); ++o) {
    const int64_t k = (int64_t(o) / plane) % wl.k;
    double v = ref.output[o] + (*operands.bias)[k];
    double mag = ref.magnitude[o] + std::fabs((*operands.bias)[k]);
    if (wl.has_residual()) {
      v += (*operands.residual)[int64_t(o)];
      mag += std::fabs((*operands.residual)[int64_t(o)]);
    }
    if (!activation.empty()) v = std::max(v, 0.0);
    if (activation == "relu6") v = std::min(v, 6.0);
    ref.output[o] = v;
    ref.magnitude[o] = mag;
  }
  return ref;
}

Agreement check_against_reference(const Workload& wl, const Reference& ref, const Tensor& output) {
  const int64_t elems = wl.output_elems();
  check_size("reference output", static_cast<int64_t>(ref.output.size()), elems);
  check_size("reference magnitude", static_cast<int64_t>(ref.magnitude.size()), elems);
  check_size("output", output.size(), elems);

  // gamma(n) of Higham sec. 3.1; n counts the reduction's additions plus the final rounding.
  const double u = 0x1p-24;
  const int64_t sum_roundings = ref.roundings > 0 ? ref.roundings : wl.reduction_length() + 1;
  const double nu = static_cast<double>(sum_roundings + roundings_after_sum(wl)) * u;
  const double inf = std::numeric_limits<double>::infinity();
  const double gamma = nu < 1 ? nu / (1 - nu) : inf;
  // Where every tap is zero (all padding, or zero data) any summation order gives exactly 0;
  // the slack only keeps a -0 / +0 or denormal from reading as a failure.
  const double slack = 1e-30;

  Agreement a;
  a.ok = true;
  a.tolerance = gamma;
  a.bound = ref.bound;
  for (int64_t i = 0; i < elems; ++i) {
    const double out = output[i];
    if (!std::isfinite(out)) {
      a.ok = false;
      a.max_abs_err = inf;
      a.max_rel_err = inf;
      continue;
    }
    const double err = std::fabs(out - ref.output[i]);
    const double mag = ref.magnitude[i];
    if (err > a.max_abs_err) a.max_abs_err = err;
    if (mag > 0 && err / mag > a.max_rel_err) a.max_rel_err = err / mag;
    if (err > gamma * mag + slack) a.ok = false;
  }
  return a;
}

} // namespace convtune
