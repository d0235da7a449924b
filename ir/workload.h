/// \file The workload: one 2-D convolution, its validation, canonical key and JSON form.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace convtune {

/// The weights a layer is compiled for, when its kernel depends on them: a sparse kernel holds
/// their pattern of nonzeros (ir/sparse.h). Not given (the default): any weights, the caller's.
struct GivenWeights {
  std::string file;     ///< raw f32 in KCRS order, or a .npy of f32; empty: synthetic pruned ones
  bool pruned = false;  ///< synthetic: random weights (a seed fixed by the shape), magnitude-pruned
  double sparsity = 0;  ///< pruned: the fraction of weights set to zero
  int64_t block = 1;    ///< pruned: in blocks of this many output channels (1: unstructured)
  /// The pattern of nonzeros, as sparse_pattern_of() computes it (16 hex digits); part of the
  /// workload's key, so that a config tuned for one pattern never runs with another.
  std::string digest;

  bool given() const { return !file.empty() || pruned; }
};

/// A 2-D convolution in NCHW (input) / KCRS (weights) / NKPQ (output), fp32.
/// Padding is per side; dilation spreads the kernel taps; groups split channels.
///
/// `op` also names the pooling layers that share the convolution's window arithmetic:
/// "maxpool" and "avgpool" slide an r x s window (stride, padding, dilation) over each channel,
/// with k = c, groups = 1 and no weights; padded taps are skipped (max) or, for avgpool,
/// counted in the divisor only with count_include_pad=1 (ONNX's attribute).
/// `epilogue` fuses what follows a convolution in networks: "bias" (+ bias[k]), then "_add"
/// (+ residual[n][k][p][q]), then "_relu" (max(0, x)) or "_relu6" (min(max(0, x), 6)):
/// bias, bias_relu, bias_relu6, bias_add, bias_add_relu, bias_add_relu6; "none" by default.
struct Workload {
  int64_t n = 1;           ///< batch
  int64_t c = 1;           ///< input channels
  int64_t h = 1, w = 1;    ///< input height, width
  int64_t k = 1;           ///< output channels
  int64_t r = 1, s = 1;    ///< kernel height, width
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
  std::string dtype = "f32";
  std::string layout = "NCHW"; ///< the activations' layout; weights are KCRS, output NKPQ
  std::string name;            ///< optional label (e.g. "resnet18:C6"); not part of the key
  std::string op = "conv";     ///< conv, maxpool or avgpool
  std::string epilogue = "none";  ///< none, or bias[_add][_relu|_relu6] (conv only)
  int64_t count_include_pad = 0;  ///< avgpool: padded taps count in the divisor (0 or 1)
  GivenWeights weights;           ///< conv only: the weights the kernel is compiled for, if any

  bool is_conv() const { return op == "conv"; }
  bool is_pool() const { return op == "maxpool" || op == "avgpool"; }
  bool has_bias() const { return epilogue != "none"; }
  bool has_residual() const { return epilogue.rfind("bias_add", 0) == 0; }
  /// The epilogue's activation: "", "relu" or "relu6".
  std::string epilogue_activation() const;

  /// Output height P and width Q (valid only after validate()).
  int64_t p() const { return (h + pad_top + pad_bottom - dilation_h * (r - 1) - 1) / stride_h + 1; }
  int64_t q() const { return (w + pad_left + pad_right - dilation_w * (s - 1) - 1) / stride_w + 1; }
  /// The input rows (columns) a tile of `outputs` consecutive output rows (columns) reads, the
  /// padding included: (outputs - 1) * stride + (taps - 1) * dilation + 1.
  int64_t rows_read(int64_t outputs) const { return (outputs - 1) * stride_h + (r - 1) * dilation_h + 1; }
  int64_t cols_read(int64_t outputs) const { return (outputs - 1) * stride_w + (s - 1) * dilation_w + 1; }
  int64_t c_per_group() const { return c / groups; }
  int64_t k_per_group() const { return k / groups; }

  int64_t input_elems() const { return n * c * h * w; }
  int64_t weight_elems() const { return is_pool() ? 0 : k * c_per_group() * r * s; }
  int64_t output_elems() const { return n * k * p() * q(); }
  /// Terms summed (or compared) per output element: the reduction length.
  int64_t reduction_length() const { return is_pool() ? r * s : c_per_group() * r * s; }

  /// Convolutions: 2 * N * K * P * Q * (C / groups) * R * S, padding taps counted, as peers
  /// count them (the epilogue's few operations per output are not). Pooling: N * C * P * Q * R * S.
  double flops() const;
  /// Bytes of input + weights + output, each read or written once.
  double bytes() const;
  double arithmetic_intensity() const { return flops() / bytes(); }

  /// Throws UserError naming the first invalid field and its value.
  void validate() const;

  /// Stable text naming every field that changes what is computed (not `name`).
  std::string key() const;
  /// A short human description: "n=1,c=64,h=56,...".
  std::string spec() const;

  bool operator==(const Workload& o) const { return key() == o.key(); }
};

void to_json(nlohmann::json& j, const Workload& wl);
/// Reads a workload; unknown fields and wrong types are UserErrors naming the field.
void from_json(const nlohmann::json& j, Workload& wl);

/// Parses any of the three spellings: a suite entry ("resnet18:C6"), an inline spec
/// ("n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1") or a benchdnn descriptor
/// ("mb1ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1"). The result is validated.
Workload parse_workload(const std::string& text);

} // namespace convtune
