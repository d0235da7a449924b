/// \file Workload arithmetic, validation, canonical key, inline spec and JSON form.
#include "ir/workload.h"

#include <initializer_list>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/error.h"

namespace convtune {

namespace {

// __extension__ keeps -Wpedantic quiet about the GCC/Clang 128-bit integer.
__extension__ typedef __int128 Int128;

[[noreturn]] void refuse(const char* field, const std::string& value, const std::string& reason) {
  throw UserError("invalid workload: " + std::string(field) + "=" + value + ": " + reason);
}

void check_at_least(const char* field, int64_t value, int64_t minimum) {
  if (value >= minimum) return;
  refuse(field, std::to_string(value), "must be at least " + std::to_string(minimum));
}

/// Decimal text of a 128-bit value (std::to_string has no overload for it).
std::string to_string_i128(Int128 value) {
  if (value >= std::numeric_limits<int64_t>::min() && value <= std::numeric_limits<int64_t>::max())
    return std::to_string(static_cast<int64_t>(value));
  const bool negative = value < 0;
  std::string digits;
  while (value != 0) {
    const int digit = static_cast<int>(value % 10);
    digits.insert(digits.begin(), static_cast<char>('0' + (negative ? -digit : digit)));
    value /= 10;
  }
  return negative ? "-" + digits : digits;
}

/// True when the product of `factors` fits in int64 (all factors are positive here).
bool product_fits(std::initializer_list<int64_t> factors) {
  int64_t product = 1;
  for (int64_t factor : factors) {
    if (__builtin_mul_overflow(product, factor, &product)) return false;
  }
  return true;
}

/// Refuses when the product of `factors` overflows; `field` and `value` name the first factor.
void check_product(const char* field, int64_t value, const char* expression,
                   std::initializer_list<int64_t> factors) {
  if (product_fits(factors)) return;
  refuse(field, std::to_string(value), std::string(expression) + " overflows 64-bit index arithmetic");
}

/// Refuses when the dilated kernel extent along one axis exceeds the padded input. Computed in
/// 128 bits, since neither side is yet known to fit in 64.
void check_kernel_fits(const char* field, int64_t kernel, int64_t dilation, int64_t input,
                       int64_t pad_before, int64_t pad_after, const char* axis) {
  const Int128 extent = static_cast<Int128>(dilation) * (kernel - 1) + 1;
  const Int128 padded = static_cast<Int128>(input) + pad_before + pad_after;
  if (extent <= padded) return;
  refuse(field, std::to_string(kernel),
         std::string("dilated kernel ") + axis + " " + to_string_i128(extent) +
             " exceeds padded input " + axis + " " + to_string_i128(padded));
}

/// "A" when both values agree, else "A:B" (the inline spec's pair form).
std::string pair_text(int64_t a, int64_t b) {
  if (a == b) return std::to_string(a);
  return std::to_string(a) + ":" + std::to_string(b);
}

/// The integer fields of the JSON form, in the order they are written and documented.
struct IntField {
  const char* name;
  int64_t Workload::*member;
  bool required;
};
constexpr IntField int_fields[] = {
    {"n", &Workload::n, false},
    {"c", &Workload::c, true},
    {"h", &Workload::h, true},
    {"w", &Workload::w, true},
    {"k", &Workload::k, true},
    {"r", &Workload::r, true},
    {"s", &Workload::s, true},
    {"stride_h", &Workload::stride_h, false},
    {"stride_w", &Workload::stride_w, false},
    {"pad_top", &Workload::pad_top, false},
    {"pad_left", &Workload::pad_left, false},
    {"pad_bottom", &Workload::pad_bottom, false},
    {"pad_right", &Workload::pad_right, false},
    {"dilation_h", &Workload::dilation_h, false},
    {"dilation_w", &Workload::dilation_w, false},
    {"groups", &Workload::groups, false},
    {"count_include_pad", &Workload::count_include_pad, false},
};

struct StringField {
  const char* name;
  std::string Workload::*member;
};
constexpr StringField string_fields[] = {
    {"dtype", &Workload::dtype},
    {"layout", &Workload::layout},
    {"name", &Workload::name},
    {"op", &Workload::op},
    {"epilogue", &Workload::epilogue},
};

[[noreturn]] void refuse_json(const std::string& reason) {
  throw UserError("invalid workload JSON: " + reason);
}

int64_t read_int(const nlohmann::json& value, const char* name) {
  if (!value.is_number_integer()) refuse_json("field '" + std::string(name) + "' must be an integer");
  // nlohmann keeps values above INT64_MAX as unsigned; get<int64_t> would wrap them.
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    refuse_json("field '" + std::string(name) + "' must be an integer in 64-bit range");
  return value.get<int64_t>();
}

} // namespace

std::string Workload::epilogue_activation() const {
  if (epilogue.size() >= 6 && epilogue.compare(epilogue.size() - 6, 6, "_relu6") == 0) return "relu6";
  if (epilogue.size() >= 5 && epilogue.compare(epilogue.size() - 5, 5, "_relu") == 0) return "relu";
  return "";
}

double Workload::flops() const {
  // In double: the product of int64 factors may exceed int64 before validate() has run.
  if (is_pool()) return static_cast<double>(n) * c * p() * q() * r * s;
  return 2.0 * static_cast<double>(n) * static_cast<double>(k) * static_cast<double>(p()) *
         static_cast<double>(q()) * static_cast<double>(c_per_group()) * static_cast<double>(r) *
         static_cast<double>(s);
}

double Workload::bytes() const {
  const double input = static_cast<double>(n) * c * h * w;
  const double weights = static_cast<double>(weight_elems());
  const double output = static_cast<double>(n) * k * p() * q();
  const double bias = has_bias() ? static_cast<double>(k) : 0.0;
  const double residual = has_residual() ? output : 0.0;
  return 4.0 * (input + weights + bias + residual + output);
}

void Workload::validate() const {
  // 1. Each field on its own, in declaration order.
  check_at_least("n", n, 1);
  check_at_least("c", c, 1);
  check_at_least("h", h, 1);
  check_at_least("w", w, 1);
  check_at_least("k", k, 1);
  check_at_least("r", r, 1);
  check_at_least("s", s, 1);
  check_at_least("stride_h", stride_h, 1);
  check_at_least("stride_w", stride_w, 1);
  check_at_least("pad_top", pad_top, 0);
  check_at_least("pad_left", pad_left, 0);
  check_at_least("pad_bottom", pad_bottom, 0);
  check_at_least("pad_right", pad_right, 0);
  check_at_least("dilation_h", dilation_h, 1);
  check_at_least("dilation_w", dilation_w, 1);
  check_at_least("groups", groups, 1);
  if (dtype != "f32") refuse("dtype", dtype, "only f32 is supported");
  if (layout != "NCHW") refuse("layout", layout, "only NCHW is supported");
  if (op != "conv" && op != "maxpool" && op != "avgpool") refuse("op", op, "expected conv, maxpool or avgpool");
  if (epilogue != "none" && epilogue != "bias" && epilogue != "bias_relu" && epilogue != "bias_relu6" &&
      epilogue != "bias_add" && epilogue != "bias_add_relu" && epilogue != "bias_add_relu6")
    refuse("epilogue", epilogue, "expected none, bias, bias_relu, bias_relu6, bias_add, bias_add_relu or bias_add_relu6");
  if (count_include_pad != 0 && count_include_pad != 1)
    refuse("count_include_pad", std::to_string(count_include_pad), "expected 0 or 1");
  if (is_pool()) {
    // A pooling window runs over each channel alone.
    if (k != c) refuse("k", std::to_string(k), op + " keeps the channels: k must equal c=" + std::to_string(c));
    if (groups != 1) refuse("groups", std::to_string(groups), op + " has no groups");
    if (epilogue != "none") refuse("epilogue", epilogue, op + " takes no epilogue");
  }
  if (count_include_pad && op != "avgpool")
    refuse("count_include_pad", "1", "only avgpool counts padded taps");
  if (weights.given()) {
    if (!is_conv()) refuse("weights", weights.file.empty() ? "pruned" : weights.file, op + " has no weights");
    if (weights.pruned && !weights.file.empty()) refuse("sparsity", std::to_string(weights.sparsity), "weights come from a file or are pruned, not both");
    if (!(weights.sparsity >= 0 && weights.sparsity <= 1)) refuse("sparsity", std::to_string(weights.sparsity), "expected a fraction in [0, 1]");
    if (weights.block < 1 || k % weights.block != 0) {
      refuse("sparsity_block", std::to_string(weights.block), "must divide k=" + std::to_string(k));
    }
  }
  if (is_pool()) {
    // As ONNX requires, each pad is smaller than the (dilated) window; with a dilation no
    // larger than the input, every window then holds at least one input tap.
    const int64_t ext_h = dilation_h * (r - 1) + 1, ext_w = dilation_w * (s - 1) + 1;
    const std::pair<const char*, int64_t> pads[] = {{"pad_top", pad_top}, {"pad_bottom", pad_bottom}};
    for (const auto& [field, pad] : pads) {
      if (pad >= ext_h) refuse(field, std::to_string(pad), op + " pads must be smaller than the window height " + std::to_string(ext_h));
    }
    const std::pair<const char*, int64_t> wpads[] = {{"pad_left", pad_left}, {"pad_right", pad_right}};
    for (const auto& [field, pad] : wpads) {
      if (pad >= ext_w) refuse(field, std::to_string(pad), op + " pads must be smaller than the window width " + std::to_string(ext_w));
    }
    if (dilation_h > h) refuse("dilation_h", std::to_string(dilation_h), op + " dilation must not exceed h=" + std::to_string(h));
    if (dilation_w > w) refuse("dilation_w", std::to_string(dilation_w), op + " dilation must not exceed w=" + std::to_string(w));
  }

  // 2. Groups must split both channel counts evenly.
  const std::string g = std::to_string(groups);
  if (c % groups != 0) refuse("groups", g, "c=" + std::to_string(c) + " is not divisible by groups");
  if (k % groups != 0) refuse("groups", g, "k=" + std::to_string(k) + " is not divisible by groups");

  // 3. At least one output row and column. Padding may be any size: it only adds zero taps.
  check_kernel_fits("r", r, dilation_h, h, pad_top, pad_bottom, "height");
  check_kernel_fits("s", s, dilation_w, w, pad_left, pad_right, "width");

  // 4. Every index the generated code computes must fit in int64. The padded extents come
  // before the output count because p() and q() are computed from them.
  const int64_t cg = c / groups;
  check_product("n", n, "n*c*h*w", {n, c, h, w});
  check_product("k", k, "k*(c/groups)*r*s", {k, cg, r, s});
  int64_t padded = 0;
  if (__builtin_add_overflow(h, pad_top, &padded) || __builtin_add_overflow(padded, pad_bottom, &padded))
    refuse("h", std::to_string(h), "h+pad_top+pad_bottom overflows 64-bit index arithmetic");
  if (__builtin_add_overflow(w, pad_left, &padded) || __builtin_add_overflow(padded, pad_right, &padded))
    refuse("w", std::to_string(w), "w+pad_left+pad_right overflows 64-bit index arithmetic");
  check_product("n", n, "n*k*p*q", {n, k, p(), q()});
  check_product("n", n, "n*k*p*q*(c/groups)*r*s", {n, k, p(), q(), cg, r, s});
}

std::string Workload::key() const {
  const auto num = [](int64_t v) { return std::to_string(v); };
  // What a plain convolution's key was before pooling and epilogues existed, so that its
  // database records keep their key; the others add what they are.
  std::string suffix;
  if (epilogue != "none") suffix += "_" + epilogue;
  if (count_include_pad) suffix += "_cip";
  if (weights.given()) suffix += "_weights" + weights.digest;
  return (is_conv() ? std::string("conv2d") : op + "2d") + "_" + dtype + "_" + layout + "_n" + num(n) + "_c" + num(c) + "_h" + num(h) + "_w" +
         num(w) + "_k" + num(k) + "_r" + num(r) + "_s" + num(s) + "_st" + num(stride_h) + "x" +
         num(stride_w) + "_pad" + num(pad_top) + "x" + num(pad_left) + "x" + num(pad_bottom) +
         "x" + num(pad_right) + "_dil" + num(dilation_h) + "x" + num(dilation_w) + "_g" +
         num(groups) + suffix;
}

std::string Workload::spec() const {
  const auto num = [](int64_t v) { return std::to_string(v); };
  std::string text = "n=" + num(n) + ",c=" + num(c) + ",h=" + num(h) + ",w=" + num(w) +
                     ",k=" + num(k) + ",r=" + num(r) + ",s=" + num(s) +
                     ",stride=" + pair_text(stride_h, stride_w) + ",pad=";
  const bool pads_equal = pad_top == pad_left && pad_top == pad_bottom && pad_top == pad_right;
  text += pads_equal ? num(pad_top)
                     : num(pad_top) + ":" + num(pad_left) + ":" + num(pad_bottom) + ":" + num(pad_right);
  if (dilation_h != 1 || dilation_w != 1) text += ",dilation=" + pair_text(dilation_h, dilation_w);
  if (groups != 1) text += ",groups=" + num(groups);
  if (!is_conv()) text += ",op=" + op;
  if (epilogue != "none") text += ",epilogue=" + epilogue;
  if (count_include_pad) text += ",count_include_pad=1";
  return text;
}

void to_json(nlohmann::json& j, const Workload& wl) {
  j = nlohmann::json::object();
  for (const IntField& field : int_fields) j[field.name] = wl.*field.member;
  j["dtype"] = wl.dtype;
  j["layout"] = wl.layout;
  // Pooling and epilogue fields only where they differ from a plain convolution, so a plain
  // convolution's JSON (and every record holding one) reads as before.
  if (!wl.is_conv()) j["op"] = wl.op;
  if (wl.epilogue != "none") j["epilogue"] = wl.epilogue;
  if (wl.count_include_pad == 0) j.erase("count_include_pad");
  if (!wl.name.empty()) j["name"] = wl.name;
  if (wl.weights.given()) {
    nlohmann::json w = {{"digest", wl.weights.digest}};
    if (!wl.weights.file.empty()) w["file"] = wl.weights.file;
    if (wl.weights.pruned) {
      w["sparsity"] = wl.weights.sparsity;
      w["block"] = wl.weights.block;
    }
    j["weights"] = w;
  }
}

void from_json(const nlohmann::json& j, Workload& wl) {
  if (!j.is_object()) refuse_json("expected an object, got " + std::string(j.type_name()));

  // Unknown fields first: a misspelt optional field would otherwise silently take its default.
  for (const auto& item : j.items()) {
    bool known = false;
    for (const IntField& field : int_fields) known = known || item.key() == field.name;
    for (const StringField& field : string_fields) known = known || item.key() == field.name;
    known = known || item.key() == "weights";
    if (!known) refuse_json("unknown field '" + item.key() + "'");
  }

  Workload out;
  for (const IntField& field : int_fields) {
    const auto it = j.find(field.name);
    if (it == j.end()) {
      if (field.required) refuse_json("missing field '" + std::string(field.name) + "'");
      continue;
    }
    out.*field.member = read_int(*it, field.name);
  }
  for (const StringField& field : string_fields) {
    const auto it = j.find(field.name);
    if (it == j.end()) continue;
    if (!it->is_string()) refuse_json("field '" + std::string(field.name) + "' must be a string");
    out.*field.member = it->get<std::string>();
  }
  if (const auto it = j.find("weights"); it != j.end()) {
    const nlohmann::json& w = *it;
    if (!w.is_object()) refuse_json("field 'weights' must be an object");
    const auto text = [&](const char* key) {
      if (!w.contains(key)) return std::string();
      if (!w[key].is_string()) refuse_json(std::string("field 'weights.") + key + "' must be a string");
      return w[key].get<std::string>();
    };
    out.weights.file = text("file");
    out.weights.digest = text("digest");
    if (w.contains("sparsity")) {
      if (!w["sparsity"].is_number()) refuse_json("field 'weights.sparsity' must be a number");
      out.weights.pruned = true;
      out.weights.sparsity = w["sparsity"].get<double>();
      out.weights.block = w.contains("block") ? read_int(w["block"], "weights.block") : 1;
    }
    if (!out.weights.given()) refuse_json("field 'weights' needs a file or a sparsity");
  }
  wl = std::move(out);
}

} // namespace convtune
