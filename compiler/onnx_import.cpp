/// \file The ONNX importer: protobuf model -> Network, node by node in the file's order.
#include "compiler/onnx_import.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "ir/error.h"

namespace convtune {

const char* const kSupportedOperators =
    "Conv, BatchNormalization, Relu, Clip, Sigmoid, HardSigmoid, HardSwish, Add, Mul, MaxPool, AveragePool, "
    "GlobalAveragePool, ReduceMean (over H and W), Pad, Concat, Flatten, Reshape, Gemm, MatMul, Identity, Dropout, Constant, Shape, Gather, "
    "Unsqueeze, Squeeze, Cast, Sub and Div (on constants), Slice (of channels), Transpose (a channel shuffle)";

namespace {

constexpr int64_t kMinOpset = 11, kMaxOpset = 17;
/// The most elements a tensor may have: far past any network, far from overflowing byte counts.
constexpr int64_t kMaxElements = int64_t(1) << 34;

/// A constant's value as an integer, saturated: int64 values travel as doubles, and INT64_MAX
/// (Slice's "to the end") must not overflow the conversion or the arithmetic after it.
int64_t integer(double v) {
  constexpr int64_t kFar = std::numeric_limits<int64_t>::max() / 4;
  if (!(v > -double(kFar))) return -kFar;  // NaN too
  if (v > double(kFar)) return kFar;
  return int64_t(v);
}

/// The largest stride, dilation or pooling window the importer reads.
constexpr int64_t kMaxWindow = int64_t(1) << 20;

/// The product of `shape`, or -1 when it passes kMaxElements (without overflowing on the way).
int64_t elements_of(const std::vector<int64_t>& shape) {
  int64_t e = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && e > kMaxElements / d)) return -1;
    e *= d;
  }
  return e;
}

/// A value known at import time: an initializer, a Constant, or what shape nodes compute.
struct Constant {
  std::vector<int64_t> shape;
  std::vector<double> values;
  bool integer = false;
  int64_t elements() const { return elements_of(shape); }  ///< read_tensor refuses the shapes where it is -1
};

/// What a name of the graph stands for: a tensor of the network or a constant.
struct Value {
  int tensor = -1;
  Constant constant;
  /// Not empty: the tensor's elements under this ONNX shape of rank 5, N x a x b x H x W, the
  /// channels split in two (how a channel shuffle is spelled); only Transpose and Reshape read it.
  std::vector<int64_t> view;
  bool is_constant() const { return tensor < 0; }
};

std::string shape_text(const std::vector<int64_t>& shape) {
  if (shape.empty()) return "a scalar";
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "x" : "") + std::to_string(shape[i]);
  return text;
}

std::string element_type_name(int32_t type) {
  return onnx::TensorProto_DataType_IsValid(type) ? onnx::TensorProto_DataType_Name(onnx::TensorProto_DataType(type))
                                                   : "unknown (" + std::to_string(type) + ")";
}

/// Reads a tensor's data whatever field holds it. `where` names it in messages.
Constant read_tensor(const onnx::TensorProto& t, const std::string& where) {
  Constant c;
  for (int64_t d : t.dims()) {
    if (d < 0) throw UserError(where + ": dimension " + std::to_string(d) + " is negative");
    c.shape.push_back(d);
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL) throw UserError(where + ": external data is not supported");
  const int64_t n = c.elements();
  if (n < 0 || n > (int64_t(1) << 31)) throw UserError(where + ": the shape " + shape_text(c.shape) + " has too many elements");
  const auto need = [&](int64_t have, int64_t bytes_each) {
    if (have != n) {
      throw UserError(where + ": holds " + std::to_string(have) + " values, its shape " + shape_text(c.shape) + " needs " +
                      std::to_string(n) + (bytes_each ? " (truncated raw data?)" : ""));
    }
  };
  // Raw little-endian bytes, or the typed field the exporter filled.
  const auto append = [&](const auto& typed_values, size_t width, auto decode) {
    const std::string& raw = t.raw_data();
    if (t.has_raw_data()) {
      need(int64_t(raw.size() / width), int64_t(width));
      if (raw.size() % width) need(-1, int64_t(width));
      for (int64_t i = 0; i < n; ++i) c.values.push_back(decode(raw.data() + width * size_t(i)));
    } else {
      need(typed_values.size(), 0);
      for (auto v : typed_values) c.values.push_back(double(v));
    }
  };
  const auto read_as = [](auto zero) {
    return [](const char* bytes) {
      decltype(zero) v;
      std::memcpy(&v, bytes, sizeof v);
      return double(v);
    };
  };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    append(t.float_data(), 4, read_as(float{}));
    break;
  case onnx::TensorProto::INT64:
    c.integer = true;
    append(t.int64_data(), 8, read_as(int64_t{}));
    break;
  case onnx::TensorProto::INT32:
    c.integer = true;
    append(t.int32_data(), 4, read_as(int32_t{}));
    break;
  default:
    throw UserError(where + ": element type " + element_type_name(t.data_type()) +
                    " is not supported (f32 weights, int64 shapes)");
  }
  return c;
}

class Importer {
public:
  Importer(const onnx::ModelProto& model, std::string label) : model_(model), label_(std::move(label)) {}

  Network run() {
    opset_ = model_opset();
    const onnx::GraphProto& g = model_.graph();
    net_.name = g.name();
    for (const onnx::TensorProto& t : g.initializer()) {
      if (t.name().empty()) fail_model("an initializer has no name");
      values_[t.name()].constant = read_tensor(t, "initializer '" + t.name() + "'");
    }
    read_input();
    // Producers of every name, so that a read before its producer is told apart from a read
    // of nothing at all.
    for (int i = 0; i < g.node_size(); ++i) {
      for (const std::string& out : g.node(i).output()) {
        if (!out.empty() && !producer_.count(out)) producer_[out] = i;
      }
    }
    for (int i = 0; i < g.node_size(); ++i) {
      node_index_ = i;
      import_node(g.node(i));
    }
    read_output();
    net_.sort();
    net_.verify();
    return std::move(net_);
  }

private:
  // ---- the model's frame -------------------------------------------------------------------
  [[noreturn]] void fail_model(const std::string& what) const { throw UserError("model '" + label_ + "': " + what); }

  int64_t model_opset() const {
    int64_t opset = -1;
    for (const onnx::OperatorSetIdProto& o : model_.opset_import()) {
      if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
    }
    if (opset < 0) fail_model("no opset of the default domain (opset_import)");
    if (opset < kMinOpset || opset > kMaxOpset) {
      fail_model("opset " + std::to_string(opset) + " is not supported (" + std::to_string(kMinOpset) + " to " +
                 std::to_string(kMaxOpset) + ")");
    }
    return opset;
  }

  void read_input() {
    const onnx::GraphProto& g = model_.graph();
    std::vector<const onnx::ValueInfoProto*> inputs;
    for (const onnx::ValueInfoProto& v : g.input()) {
      if (!values_.count(v.name())) inputs.push_back(&v);  // older exporters list initializers too
    }
    if (inputs.size() != 1) {
      std::string names;
      for (const auto* v : inputs) names += (names.empty() ? "'" : ", '") + v->name() + "'";
      fail_model("the graph has " + std::to_string(inputs.size()) + " inputs" + (names.empty() ? "" : " (" + names + ")") +
                 "; one is supported");
    }
    const onnx::ValueInfoProto& v = *inputs[0];
    const std::string where = "input '" + v.name() + "'";
    if (!v.type().has_tensor_type()) fail_model(where + " is not a tensor");
    const onnx::TypeProto_Tensor& type = v.type().tensor_type();
    if (type.elem_type() != onnx::TensorProto::FLOAT) {
      fail_model(where + ": element type " + element_type_name(type.elem_type()) + " is not supported (f32 only)");
    }
    if (!type.has_shape()) fail_model(where + " has no shape");
    NetTensor t{v.name(), {}, -1};
    for (int i = 0; i < type.shape().dim_size(); ++i) {
      const auto& d = type.shape().dim(i);
      if (!d.has_dim_value()) {
        fail_model(where + ": dimension " + std::to_string(i) + " is dynamic" +
                   (d.has_dim_param() ? " ('" + d.dim_param() + "')" : "") + "; export the model with a fixed input shape");
      }
      if (d.dim_value() <= 0) fail_model(where + ": dimension " + std::to_string(i) + " is " + std::to_string(d.dim_value()));
      t.shape.push_back(d.dim_value());
    }
    if (elements_of(t.shape) < 0) fail_model(where + ": the shape " + shape_text(t.shape) + " has too many elements");
    if (t.shape.size() != 4) fail_model(where + " has shape " + shape_text(t.shape) + "; an NCHW image (rank 4) is expected");
    net_.input = add_tensor(t);
    values_[v.name()] = Value{net_.input, {}, {}};
  }

  void read_output() {
    const onnx::GraphProto& g = model_.graph();
    if (g.output_size() != 1) fail_model("the graph has " + std::to_string(g.output_size()) + " outputs; one is supported");
    const std::string& name = g.output(0).name();
    const auto it = values_.find(name);
    if (it == values_.end()) fail_model("output '" + name + "' is produced by no node");
    if (it->second.is_constant()) fail_model("output '" + name + "' is a constant");
    if (!it->second.view.empty()) fail_model("output '" + name + "' has shape " + shape_text(it->second.view) + "; rank 4 or 2 is supported");
    int t = it->second.tensor;
    // A shape the model declares for its output must be the one its nodes compute.
    const onnx::TypeProto& type = g.output(0).type();
    if (type.has_tensor_type() && type.tensor_type().has_shape()) {
      const auto& dims = type.tensor_type().shape();
      std::vector<int64_t> declared;
      bool fixed = true;
      for (int i = 0; i < dims.dim_size(); ++i) {
        fixed = fixed && dims.dim(i).has_dim_value();
        declared.push_back(dims.dim(i).dim_value());
      }
      if (fixed && declared != net_.tensors[t].shape) {
        fail_model("output '" + name + "' is declared " + shape_text(declared) + " but its nodes compute " + net_.tensors[t].shape_text());
      }
    }
    if (t == net_.input) {  // the model returns its input: one copy
      NetLayer copy;
      copy.name = "output_copy";
      copy.kind = LayerKind::Copy;
      copy.inputs = {t};
      t = add_tensor({name + "_copy", net_.tensors[t].shape, -1});
      copy.output = t;
      net_.layers.push_back(copy);
    }
    net_.output = t;
  }

  int add_tensor(const NetTensor& t) {
    net_.tensors.push_back(t);
    return int(net_.tensors.size()) - 1;
  }

  // ---- one node ----------------------------------------------------------------------------
  const onnx::NodeProto* node_ = nullptr;
  std::string node_name_;

  [[noreturn]] void fail(const std::string& what) const {
    throw UserError("node '" + node_name_ + "' (" + node_->op_type() + "): " + what);
  }

  void import_node(const onnx::NodeProto& node) {
    node_ = &node;
    node_name_ = node.name().empty() ? node.op_type() + "_" + std::to_string(node_index_) : node.name();
    if (!node.domain().empty() && node.domain() != "ai.onnx") fail("the domain '" + node.domain() + "' is not supported");
    if (node.output_size() < 1 || node.output(0).empty()) fail("no output");
    for (const std::string& out : node.output()) {
      if (!out.empty() && values_.count(out)) fail("writes '" + out + "', which is already defined");
    }
    const std::string& op = node.op_type();
    if (op == "Conv") return conv();
    if (op == "BatchNormalization") return batch_norm();
    if (op == "Relu") return activation({Activation::Kind::Relu});
    if (op == "Sigmoid") return activation({Activation::Kind::Sigmoid});
    if (op == "HardSwish") return activation({Activation::Kind::HardSwish});
    if (op == "HardSigmoid") {
      Activation a{Activation::Kind::HardSigmoid};
      a.alpha = float(attr_float("alpha", 0.2));
      a.beta = float(attr_float("beta", 0.5));
      return activation(a);
    }
    if (op == "Clip") return clip();
    if ((op == "Add" || op == "Mul") && input_value(0).is_constant() && input_value(1).is_constant()) return constant_arithmetic();
    if (op == "Add" || op == "Mul") return add_or_mul(op == "Add" ? LayerBinary::Add : LayerBinary::Mul);
    if (op == "MaxPool" || op == "AveragePool") return pool(op == "MaxPool");
    if (op == "GlobalAveragePool") return global_avg_pool();
    if (op == "ReduceMean") return reduce_mean();
    if (op == "Pad") return pad();
    if (op == "Concat") return concat();
    if (op == "Flatten") return flatten();
    if (op == "Reshape") return reshape();
    if (op == "Gemm" || op == "MatMul") return gemm(op == "MatMul");
    if (op == "Identity" || op == "Dropout") return alias();
    if (op == "Transpose") return transpose();
    if (op == "Slice") return slice();
    if (op == "Sub" || op == "Div") return constant_arithmetic();
    if (op == "Constant") return constant();
    if (op == "Shape" || op == "Gather" || op == "Unsqueeze" || op == "Squeeze" || op == "Cast") return shape_arithmetic();
    fail("the operator is not supported (supported: " + std::string(kSupportedOperators) + ")");
  }

  // ---- inputs, attributes, outputs ---------------------------------------------------------
  bool has_input(int i) const { return node_->input_size() > i && !node_->input(i).empty(); }

  const Value& input_value(int i) const {
    if (!has_input(i)) fail("input " + std::to_string(i) + " is missing");
    const std::string& name = node_->input(i);
    const auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    const auto p = producer_.find(name);
    if (p != producer_.end() && p->second >= node_index_) {
      const onnx::NodeProto& later = model_.graph().node(p->second);
      const std::string later_name = later.name().empty() ? later.op_type() + "_" + std::to_string(p->second) : later.name();
      if (p->second == node_index_) fail("reads '" + name + "', its own output (a cycle)");
      fail("reads '" + name + "' before node '" + later_name + "' produces it (a cycle, or nodes out of order)");
    }
    fail("reads '" + name + "', which no node, input or initializer produces");
  }

  /// The tensor of input i: an activation (not a constant) of rank 4, or 2 where allowed.
  int input_tensor(int i, bool rank2_ok = false) const {
    const Value& v = input_value(i);
    if (v.is_constant()) fail("input '" + node_->input(i) + "' is a constant; an activation is expected");
    if (!v.view.empty()) fail("input '" + node_->input(i) + "' has shape " + shape_text(v.view) + "; rank 4 (NCHW) is expected");
    const NetTensor& t = net_.tensors[v.tensor];
    if (t.shape.size() != 4 && !(rank2_ok && t.shape.size() == 2)) {
      fail("input '" + t.name + "' has shape " + t.shape_text() + "; rank 4 (NCHW)" + (rank2_ok ? " or 2" : "") + " is expected");
    }
    return v.tensor;
  }

  /// The constant of input i: f32 data when `integer` is false.
  const Constant& input_constant(int i, const std::string& role, bool integer = false) const {
    const Value& v = input_value(i);
    if (!v.is_constant()) fail(role + " '" + node_->input(i) + "' is computed at run time; a constant (initializer) is expected");
    if (v.constant.integer != integer) fail(role + " '" + node_->input(i) + "' is not " + (integer ? "int64" : "f32"));
    return v.constant;
  }

  const onnx::AttributeProto* attr(const std::string& name, onnx::AttributeProto::AttributeType type) const {
    for (const onnx::AttributeProto& a : node_->attribute()) {
      if (a.name() != name) continue;
      // Old exporters leave the type unset; the field that is filled tells.
      if (a.type() != type && a.type() != onnx::AttributeProto::UNDEFINED) {
        fail("attribute " + name + " has type " + onnx::AttributeProto_AttributeType_Name(a.type()) + ", not " +
             onnx::AttributeProto_AttributeType_Name(type));
      }
      return &a;
    }
    return nullptr;
  }
  int64_t attr_int(const std::string& name, int64_t fallback) const {
    const auto* a = attr(name, onnx::AttributeProto::INT);
    return a ? a->i() : fallback;
  }
  double attr_float(const std::string& name, double fallback) const {
    const auto* a = attr(name, onnx::AttributeProto::FLOAT);
    return a ? a->f() : fallback;
  }
  std::string attr_string(const std::string& name, const std::string& fallback) const {
    const auto* a = attr(name, onnx::AttributeProto::STRING);
    return a ? a->s() : fallback;
  }
  std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> fallback, size_t count) const {
    const auto* a = attr(name, onnx::AttributeProto::INTS);
    if (!a) return fallback;
    std::vector<int64_t> v(a->ints().begin(), a->ints().end());
    if (count && v.size() != count) {
      fail(name + " has " + std::to_string(v.size()) + " values; " + std::to_string(count) + " are expected");
    }
    return v;
  }

  /// Defines output 0 as a new tensor written by `layer`.
  void emit(NetLayer layer, std::vector<int64_t> shape) {
    for (int64_t d : shape) {
      if (d <= 0) fail("the output shape " + shape_text(shape) + " is empty");
    }
    if (elements_of(shape) < 0) fail("the output shape " + shape_text(shape) + " has too many elements");
    layer.name = node_name_;
    layer.nodes.insert(layer.nodes.begin(), node_->op_type() + " " + node_name_);
    layer.output = add_tensor({node_->output(0), std::move(shape), -1});
    values_[node_->output(0)] = Value{layer.output, {}, {}};
    net_.layers.push_back(std::move(layer));
  }
  /// Extra outputs (BatchNormalization's running statistics, MaxPool's indices, Dropout's mask)
  /// stay undefined: a node reading one is refused as reading what nothing produces.
  void define_constant(Constant c) { values_[node_->output(0)].constant = std::move(c); }

  // ---- operators ---------------------------------------------------------------------------
  /// Window attributes shared by Conv and the pools: pads after auto_pad, strides, dilations.
  void window(Workload& wl, bool dilation_allowed) const {
    const std::vector<int64_t> strides = attr_ints("strides", {1, 1}, 2);
    const std::vector<int64_t> dilations = dilation_allowed ? attr_ints("dilations", {1, 1}, 2) : std::vector<int64_t>{1, 1};
    for (size_t i = 0; i < 2; ++i) {
      // Bounded so that the window arithmetic below cannot overflow; no network comes near.
      if (strides[i] < 1 || strides[i] > kMaxWindow) fail("strides[" + std::to_string(i) + "] is " + std::to_string(strides[i]));
      if (dilations[i] < 1 || dilations[i] > kMaxWindow) fail("dilations[" + std::to_string(i) + "] is " + std::to_string(dilations[i]));
    }
    wl.stride_h = strides[0], wl.stride_w = strides[1];
    wl.dilation_h = dilations[0], wl.dilation_w = dilations[1];
    const std::string auto_pad = attr_string("auto_pad", "NOTSET");
    if (auto_pad == "NOTSET") {
      const std::vector<int64_t> pads = attr_ints("pads", {0, 0, 0, 0}, 4);
      for (int64_t p : pads) {
        if (p < 0 || p > kMaxElements) fail("pads has the value " + std::to_string(p));
      }
      wl.pad_top = pads[0], wl.pad_left = pads[1], wl.pad_bottom = pads[2], wl.pad_right = pads[3];
    } else if (auto_pad == "VALID") {
      wl.pad_top = wl.pad_left = wl.pad_bottom = wl.pad_right = 0;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      // Output = ceil(input / stride); the padding that takes, the odd one at the end (UPPER)
      // or at the beginning (LOWER).
      const auto same = [&](int64_t in, int64_t stride, int64_t taps, int64_t dil, int64_t& begin, int64_t& end) {
        const int64_t out = (in + stride - 1) / stride;
        const int64_t total = std::max<int64_t>(0, (out - 1) * stride + (taps - 1) * dil + 1 - in);
        begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        end = total - begin;
      };
      same(wl.h, wl.stride_h, wl.r, wl.dilation_h, wl.pad_top, wl.pad_bottom);
      same(wl.w, wl.stride_w, wl.s, wl.dilation_w, wl.pad_left, wl.pad_right);
    } else {
      fail("auto_pad '" + auto_pad + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
    }
  }

  void validated(Workload& wl) const {
    try {
      wl.validate();
    } catch (const UserError& e) {
      fail(e.what());
    }
  }

  void conv() {
    const int xt = input_tensor(0);
    const NetTensor& x = net_.tensors[xt];
    const Constant& w = input_constant(1, "weights");
    if (w.shape.size() != 4) fail("weights have shape " + shape_text(w.shape) + "; rank 4 (KCRS) is expected");
    Workload wl;
    wl.name = node_name_;
    wl.n = x.n(), wl.c = x.c(), wl.h = x.h(), wl.w = x.w();
    wl.k = w.shape[0], wl.r = w.shape[2], wl.s = w.shape[3];
    wl.groups = attr_int("group", 1);
    if (wl.groups < 1) fail("group is " + std::to_string(wl.groups));
    if (w.shape[1] * wl.groups != wl.c) {
      fail("weights have " + std::to_string(w.shape[1]) + " input channels per group; the input's " + std::to_string(wl.c) +
           " channels in " + std::to_string(wl.groups) + " groups need " +
           (wl.c % wl.groups ? "a divisible count" : std::to_string(wl.c / wl.groups)));
    }
    const std::vector<int64_t> kernel = attr_ints("kernel_shape", {wl.r, wl.s}, 2);
    if (kernel[0] != wl.r || kernel[1] != wl.s) fail("kernel_shape " + shape_text(kernel) + " differs from the weights' " + shape_text(w.shape));
    window(wl, true);
    NetLayer layer;
    layer.kind = LayerKind::Conv;
    layer.inputs = {xt};
    layer.weights.assign(w.values.begin(), w.values.end());
    if (has_input(2)) {
      const Constant& b = input_constant(2, "bias");
      if (b.elements() != wl.k) fail("bias has " + std::to_string(b.elements()) + " values; " + std::to_string(wl.k) + " output channels need as many");
      layer.bias.assign(b.values.begin(), b.values.end());
      wl.epilogue = "bias";
    }
    validated(wl);
    layer.wl = wl;
    emit(std::move(layer), {wl.n, wl.k, wl.p(), wl.q()});
  }

  void pool(bool is_max) {
    const int xt = input_tensor(0);
    const NetTensor& x = net_.tensors[xt];
    const std::vector<int64_t> kernel = attr_ints("kernel_shape", {}, 0);
    if (kernel.size() != 2) fail("kernel_shape must have 2 values (it has " + std::to_string(kernel.size()) + ")");
    Workload wl;
    wl.name = node_name_;
    wl.op = is_max ? "maxpool" : "avgpool";
    wl.n = x.n(), wl.c = wl.k = x.c(), wl.h = x.h(), wl.w = x.w();
    wl.r = kernel[0], wl.s = kernel[1];
    if (wl.r < 1 || wl.s < 1 || wl.r > kMaxWindow || wl.s > kMaxWindow) fail("kernel_shape " + shape_text(kernel) + " is out of range");
    window(wl, is_max);
    if (!is_max) wl.count_include_pad = attr_int("count_include_pad", 0) ? 1 : 0;
    if (is_max && attr_int("storage_order", 0) != 0) fail("storage_order 1 is not supported");
    if (attr_int("ceil_mode", 0)) {
      // The output count rounded up, the last window starting inside the input or its leading
      // padding (PyTorch's rule, which its exports assume); the extra windows' taps past the
      // input are padding, which max skips and an average excluding padding does not count.
      const auto ceil_out = [](int64_t in, int64_t begin, int64_t end, int64_t taps, int64_t dil, int64_t stride) {
        const int64_t span = in + begin + end - dil * (taps - 1) - 1;
        int64_t out = (span + stride - 1) / stride + 1;
        if ((out - 1) * stride >= in + begin) --out;
        return out;
      };
      const int64_t p = ceil_out(wl.h, wl.pad_top, wl.pad_bottom, wl.r, wl.dilation_h, wl.stride_h);
      const int64_t q = ceil_out(wl.w, wl.pad_left, wl.pad_right, wl.s, wl.dilation_w, wl.stride_w);
      const int64_t extra_h = std::max<int64_t>(0, (p - 1) * wl.stride_h + wl.dilation_h * (wl.r - 1) + 1 - (wl.h + wl.pad_top + wl.pad_bottom));
      const int64_t extra_w = std::max<int64_t>(0, (q - 1) * wl.stride_w + wl.dilation_w * (wl.s - 1) + 1 - (wl.w + wl.pad_left + wl.pad_right));
      if ((extra_h || extra_w) && wl.count_include_pad) fail("ceil_mode with count_include_pad is not supported");
      wl.pad_bottom += extra_h;
      wl.pad_right += extra_w;
    }
    validated(wl);
    NetLayer layer;
    layer.kind = LayerKind::Pool;
    layer.inputs = {xt};
    layer.wl = wl;
    emit(std::move(layer), {wl.n, wl.k, wl.p(), wl.q()});
  }

  void global_avg_pool() {
    const int xt = input_tensor(0);
    const NetTensor& x = net_.tensors[xt];
    NetLayer layer;
    layer.kind = LayerKind::GlobalAvgPool;
    layer.inputs = {xt};
    emit(std::move(layer), {x.n(), x.c(), 1, 1});
  }

  /// ReduceMean over H and W: a global average pool (keepdims=0 gives N x C).
  void reduce_mean() {
    const int xt = input_tensor(0);
    const NetTensor& x = net_.tensors[xt];
    std::vector<int64_t> axes = attr_ints("axes", {}, 0);
    for (int64_t& a : axes) a = a < 0 ? a + 4 : a;
    std::sort(axes.begin(), axes.end());
    if (axes != std::vector<int64_t>{2, 3}) fail("axes other than H and W (2, 3) are not supported");
    NetLayer layer;
    layer.kind = LayerKind::GlobalAvgPool;
    layer.inputs = {xt};
    emit(std::move(layer), attr_int("keepdims", 1) ? std::vector<int64_t>{x.n(), x.c(), 1, 1} : std::vector<int64_t>{x.n(), x.c()});
  }

  void batch_norm() {
    const int t = input_tensor(0, true);
    const int64_t c = net_.tensors[t].c();
    const double epsilon = attr_float("epsilon", 1e-5);
    if (attr_int("training_mode", 0)) fail("training_mode is not supported (export the model in eval mode)");
    const char* roles[] = {"", "scale", "bias", "mean", "variance"};
    std::vector<const Constant*> params;
    for (int i = 1; i <= 4; ++i) {
      params.push_back(&input_constant(i, roles[i]));
      if (params.back()->elements() != c) {
        fail(std::string(roles[i]) + " has " + std::to_string(params.back()->elements()) + " values; the input has " + std::to_string(c) + " channels");
      }
    }
    NetLayer layer;
    layer.kind = LayerKind::Elementwise;
    layer.inputs = {t};
    for (int64_t i = 0; i < c; ++i) {
      const double var = params[3]->values[i];
      if (!(var + epsilon > 0)) fail("variance[" + std::to_string(i) + "] + epsilon is not positive");
      const double scale = params[0]->values[i] / std::sqrt(var + epsilon);
      layer.scale.push_back(float(scale));
      layer.shift.push_back(float(params[1]->values[i] - params[2]->values[i] * scale));
    }
    emit(std::move(layer), net_.tensors[t].shape);
  }

  void activation(Activation a) {
    const int t = input_tensor(0, true);
    NetLayer layer;
    layer.kind = LayerKind::Elementwise;
    layer.inputs = {t};
    layer.activation = a;
    emit(std::move(layer), net_.tensors[t].shape);
  }

  void clip() {
    Activation a{Activation::Kind::Clip};
    a.lo = -FLT_MAX, a.hi = FLT_MAX;
    if (opset_ < 11) {
      a.lo = float(attr_float("min", -FLT_MAX));
      a.hi = float(attr_float("max", FLT_MAX));
    } else {
      const auto bound = [&](int i, float& v) {
        if (!has_input(i)) return;
        const Constant& c = input_constant(i, i == 1 ? "min" : "max");
        if (c.elements() != 1) fail(std::string(i == 1 ? "min" : "max") + " is not a scalar");
        v = float(c.values[0]);
      };
      bound(1, a.lo);
      bound(2, a.hi);
    }
    if (a.lo > a.hi) fail("min " + std::to_string(a.lo) + " is above max " + std::to_string(a.hi));
    if (a.lo == 0 && a.hi == FLT_MAX) a = {Activation::Kind::Relu};
    activation(a);
  }

  void add_or_mul(LayerBinary op) {
    const Value& a = input_value(0);
    const Value& b = input_value(1);
    if (a.is_constant() && b.is_constant()) fail("both operands are constants; folding them is not supported");
    NetLayer layer;
    layer.kind = LayerKind::Elementwise;
    if (a.is_constant() || b.is_constant()) {
      // x op constant: a per-channel scale or shift.
      const int x = input_tensor(a.is_constant() ? 1 : 0, true);
      const Constant& k = a.is_constant() ? a.constant : b.constant;
      if (k.integer) fail("the constant operand is not f32");
      const NetTensor& t = net_.tensors[x];
      std::vector<float> per_channel;
      if (k.elements() == 1) {
        per_channel.assign(size_t(t.c()), float(k.values[0]));
      } else {
        // Trailing dimensions after the channel's must be 1; leading ones 1 too.
        std::vector<int64_t> s = k.shape;
        const size_t rank = t.shape.size();
        if (s.size() > rank) fail("the constant of shape " + shape_text(k.shape) + " has a higher rank than the input");
        s.insert(s.begin(), rank - s.size(), 1);
        bool channel_only = s[1] == t.c();
        for (size_t i = 0; i < rank; ++i) channel_only = channel_only && (i == 1 || s[i] == 1);
        if (!channel_only) {
          fail("broadcasting a constant of shape " + shape_text(k.shape) + " over " + t.shape_text() +
               " is not supported (a scalar or one value per channel)");
        }
        per_channel.assign(k.values.begin(), k.values.end());
      }
      (op == LayerBinary::Add ? layer.shift : layer.scale) = per_channel;
      layer.inputs = {x};
      return emit(std::move(layer), t.shape);
    }
    int x = input_tensor(0, true), y = input_tensor(1, true);
    // The full-size operand first; the other of the same shape or one value per (n, c).
    if (net_.tensors[x].elements() < net_.tensors[y].elements()) std::swap(x, y);
    const NetTensor& tx = net_.tensors[x];
    const NetTensor& ty = net_.tensors[y];
    const bool same = tx.shape == ty.shape;
    const bool per_channel = ty.shape.size() == tx.shape.size() && ty.n() == tx.n() && ty.c() == tx.c() && ty.h() == 1 && ty.w() == 1;
    if (!same && !per_channel) {
      fail("broadcasting " + ty.shape_text() + " over " + tx.shape_text() + " is not supported (the same shape, or N x C x 1 x 1)");
    }
    layer.binary = op;
    layer.inputs = {x, y};
    emit(std::move(layer), tx.shape);
  }

  void pad() {
    const int t = input_tensor(0);
    const NetTensor& x = net_.tensors[t];
    const std::string mode = attr_string("mode", "constant");
    if (mode != "constant") fail("mode '" + mode + "' is not supported (constant only)");
    std::vector<int64_t> pads;
    float value = 0;
    if (opset_ < 11) {
      pads = attr_ints("pads", {}, 8);
      value = float(attr_float("value", 0));
    } else {
      const Constant& p = input_constant(1, "pads", true);
      if (p.elements() != 8) fail("pads has " + std::to_string(p.elements()) + " values; 8 (NCHW begins, then ends) are expected");
      for (double v : p.values) pads.push_back(integer(v));
      if (has_input(2)) {
        const Constant& v = input_constant(2, "constant_value");
        if (v.elements() != 1) fail("constant_value is not a scalar");
        value = float(v.values[0]);
      }
      if (has_input(3)) fail("the axes input is not supported");
    }
    for (int64_t p : pads) {
      if (p < 0) fail("pads has the negative value " + std::to_string(p) + " (cropping is not supported)");
      if (p > kMaxElements) fail("pads has the value " + std::to_string(p) + ", too large");
    }
    if (pads[0] || pads[1] || pads[4] || pads[5]) fail("padding N or C is not supported (H and W only)");
    NetLayer layer;
    layer.kind = LayerKind::Pad;
    layer.inputs = {t};
    layer.pad_top = pads[2], layer.pad_left = pads[3], layer.pad_bottom = pads[6], layer.pad_right = pads[7];
    layer.pad_value = value;
    emit(std::move(layer), {x.n(), x.c(), x.h() + pads[2] + pads[6], x.w() + pads[3] + pads[7]});
  }

  void concat() {
    const int64_t axis_attr = attr_int("axis", INT64_MIN);
    if (axis_attr == INT64_MIN) fail("the attribute axis is missing");
    bool constants = true;
    for (int i = 0; i < node_->input_size(); ++i) constants = constants && input_value(i).is_constant();
    if (constants) {  // shape arithmetic: 1-D integer constants end to end
      Constant c;
      c.integer = true;
      for (int i = 0; i < node_->input_size(); ++i) {
        const Constant& part = input_value(i).constant;
        if (part.shape.size() > 1) fail("concatenating constants of rank " + std::to_string(part.shape.size()) + " is not supported");
        c.values.insert(c.values.end(), part.values.begin(), part.values.end());
      }
      c.shape = {int64_t(c.values.size())};
      return define_constant(c);
    }
    NetLayer layer;
    layer.kind = LayerKind::Concat;
    std::vector<int64_t> shape;
    for (int i = 0; i < node_->input_size(); ++i) {
      const int t = input_tensor(i, true);
      const NetTensor& x = net_.tensors[t];
      const int64_t axis = axis_attr < 0 ? axis_attr + int64_t(x.shape.size()) : axis_attr;
      if (axis != 1) fail("axis " + std::to_string(axis_attr) + " is not supported (channels only)");
      if (shape.empty()) {
        shape = x.shape;
      } else {
        bool fits = x.shape.size() == shape.size();
        for (size_t d = 0; fits && d < shape.size(); ++d) fits = d == 1 || x.shape[d] == shape[d];
        if (!fits) fail("input '" + x.name + "' of shape " + x.shape_text() + " does not fit " + shape_text(shape) + " along channels");
        shape[1] += x.shape[1];
      }
      layer.inputs.push_back(t);
    }
    emit(std::move(layer), shape);
  }

  void copy_to(int t, std::vector<int64_t> shape) {
    NetLayer layer;
    layer.kind = LayerKind::Copy;
    layer.inputs = {t};
    emit(std::move(layer), std::move(shape));
  }

  void flatten() {
    const int t = input_tensor(0, true);
    const NetTensor& x = net_.tensors[t];
    const int64_t axis = attr_int("axis", 1);
    if (axis != 1 && axis != 1 - int64_t(x.shape.size())) fail("axis " + std::to_string(axis) + " is not supported (1 only)");
    copy_to(t, {x.n(), x.elements() / x.n()});
  }

  void reshape() {
    const Value& in = input_value(0);
    if (in.is_constant()) fail("reshaping a constant is not supported");
    const NetTensor& x = net_.tensors[in.tensor];
    if (x.shape.size() != 4 && x.shape.size() != 2) fail("input '" + x.name + "' has shape " + x.shape_text() + "; rank 4 or 2 is expected");
    const std::vector<int64_t>& from = in.view.empty() ? x.shape : in.view;
    const Constant& s = input_constant(1, "shape", true);
    if (attr_int("allowzero", 0)) fail("allowzero is not supported");
    std::vector<int64_t> shape;
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < s.values.size(); ++i) {
      int64_t d = integer(s.values[i]);
      if (d == 0) {
        if (i >= from.size()) fail("shape[" + std::to_string(i) + "] is 0 past the input's rank");
        d = from[i];
      }
      if (d == -1) {
        if (infer >= 0) fail("shape has more than one -1");
        infer = int64_t(i);
      } else if (d < 1 || d > kMaxElements) {
        fail("shape[" + std::to_string(i) + "] is " + std::to_string(d));
      } else if (known > kMaxElements / d) {
        fail("shape " + shape_text(shape) + " has too many elements");
      } else {
        known *= d;
      }
      shape.push_back(d);
    }
    if (infer >= 0) {
      if (x.elements() % known) fail("shape " + shape_text(shape) + " does not divide the input's " + shape_text(from));
      shape[infer] = x.elements() / known;
    }
    if (elements_of(shape) != x.elements()) {
      fail("shape " + shape_text(shape) + " holds " + std::to_string(elements_of(shape)) + " elements; the input " + shape_text(from) +
           " has " + std::to_string(x.elements()));
    }
    // The channels split in two, N x a x b x H x W: a view of the same elements, no layer.
    if (x.shape.size() == 4 && shape.size() == 5 && shape[0] == x.n() && shape[1] * shape[2] == x.c() && shape[3] == x.h() && shape[4] == x.w()) {
      Value v;
      v.tensor = in.tensor;
      v.view = shape;
      values_[node_->output(0)] = v;
      return;
    }
    // Back to the tensor's own shape: the same elements again, no layer either.
    if (shape == x.shape && !in.view.empty()) {
      values_[node_->output(0)] = Value{in.tensor, {}, {}};
      return;
    }
    const bool flat = shape.size() == 2 && shape[0] == x.n();
    if (!flat && shape != x.shape) fail("reshaping " + shape_text(from) + " to " + shape_text(shape) + " is not supported (N x F, the same shape, or the channels split in two)");
    copy_to(in.tensor, shape);
  }

  /// Transpose of a channel split's two channel axes: a channel shuffle.
  void transpose() {
    const Value& in = input_value(0);
    const std::vector<int64_t> perm = attr_ints("perm", {}, 0);
    if (in.is_constant() || in.view.size() != 5 || perm != std::vector<int64_t>{0, 2, 1, 3, 4}) {
      fail("only the channel shuffle's transpose (perm 0,2,1,3,4 of N x g x C/g x H x W) is supported");
    }
    NetLayer layer;
    layer.kind = LayerKind::ChannelShuffle;
    layer.inputs = {in.tensor};
    layer.groups = in.view[1];
    const std::vector<int64_t> view = {in.view[0], in.view[2], in.view[1], in.view[3], in.view[4]};
    emit(std::move(layer), net_.tensors[in.tensor].shape);
    values_[node_->output(0)].view = view;
  }

  /// Slice of the channels (axis 1, step 1), what torch.chunk exports.
  void slice() {
    const int t = input_tensor(0);
    const NetTensor& x = net_.tensors[t];
    const auto one = [&](int i, const char* role, int64_t fallback) {
      if (!has_input(i)) return fallback;
      const Constant& c = input_constant(i, role, true);
      if (c.elements() != 1) fail(std::string(role) + " must hold one value (one axis sliced)");
      return integer(c.values[0]);
    };
    int64_t axis = one(3, "axes", 1);
    if (axis < 0) axis += 4;
    if (axis != 1 || one(4, "steps", 1) != 1) fail("only a slice of the channels (axis 1) with step 1 is supported");
    const auto clamped = [&](int64_t v) {
      if (v < 0) v += x.c();
      return std::max<int64_t>(0, std::min(v, x.c()));
    };
    const int64_t begin = clamped(one(1, "starts", 0)), end = clamped(one(2, "ends", x.c()));
    if (end <= begin) fail("the slice [" + std::to_string(begin) + ", " + std::to_string(end) + ") of the channels is empty");
    NetLayer layer;
    layer.kind = LayerKind::Slice;
    layer.inputs = {t};
    layer.slice_begin = begin;
    emit(std::move(layer), {x.n(), end - begin, x.h(), x.w()});
  }

  /// Add, Sub, Mul and Div of two constants (shape arithmetic), a scalar broadcast over the other.
  void constant_arithmetic() {
    const Value& a = input_value(0);
    const Value& b = input_value(1);
    if (!a.is_constant() || !b.is_constant()) fail("is supported on constants only (shape arithmetic)");
    const Constant &x = a.constant, &y = b.constant;
    if (x.elements() != y.elements() && x.elements() != 1 && y.elements() != 1) fail("broadcasting constants of shapes " + shape_text(x.shape) + " and " + shape_text(y.shape) + " is not supported");
    Constant out = x.elements() >= y.elements() ? x : y;
    out.integer = x.integer && y.integer;
    const std::string& op = node_->op_type();
    for (size_t i = 0; i < out.values.size(); ++i) {
      const double u = x.values[x.elements() == 1 ? 0 : i], v = y.values[y.elements() == 1 ? 0 : i];
      if (op == "Div" && v == 0) fail("divides by zero");
      double r = op == "Add" ? u + v : op == "Sub" ? u - v : op == "Mul" ? u * v : u / v;
      if (op == "Div" && out.integer) r = std::trunc(r);
      out.values[i] = r;
    }
    define_constant(out);
  }

  void gemm(bool matmul) {
    const int t = input_tensor(0, true);
    const NetTensor& x = net_.tensors[t];
    if (x.shape.size() != 2) fail("input '" + x.name + "' has shape " + x.shape_text() + "; rank 2 (N x F) is expected (Flatten first)");
    if (!matmul && attr_int("transA", 0)) fail("transA is not supported");
    const bool trans_b = !matmul && attr_int("transB", 0);
    const double alpha = matmul ? 1 : attr_float("alpha", 1), beta = matmul ? 1 : attr_float("beta", 1);
    const Constant& b = input_constant(1, "B");
    if (b.shape.size() != 2) fail("B has shape " + shape_text(b.shape) + "; rank 2 is expected");
    const int64_t f = trans_b ? b.shape[1] : b.shape[0], m = trans_b ? b.shape[0] : b.shape[1];
    if (f != x.c()) fail("B has shape " + shape_text(b.shape) + (trans_b ? " (transposed)" : "") + "; the input has " + std::to_string(x.c()) + " features");
    Workload wl;
    wl.name = node_name_;
    wl.n = x.n(), wl.c = f, wl.k = m;
    NetLayer layer;
    layer.kind = LayerKind::Conv;
    layer.inputs = {t};
    layer.weights.resize(size_t(m * f));
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < f; ++j) layer.weights[size_t(i * f + j)] = float(alpha * (trans_b ? b.values[size_t(i * f + j)] : b.values[size_t(j * m + i)]));
    }
    if (!matmul && has_input(2)) {
      const Constant& c = input_constant(2, "C");
      const bool fits = c.elements() == 1 || (c.elements() == m && (c.shape.size() == 1 || c.shape[0] == 1));
      if (!fits) fail("C has shape " + shape_text(c.shape) + "; a scalar or " + std::to_string(m) + " values are expected");
      for (int64_t i = 0; i < m; ++i) layer.bias.push_back(float(beta * c.values[size_t(c.elements() == 1 ? 0 : i)]));
      wl.epilogue = "bias";
    }
    validated(wl);
    layer.wl = wl;
    emit(std::move(layer), {x.n(), m});
  }

  void alias() {
    const Value v = input_value(0);
    values_[node_->output(0)] = v;
  }

  void constant() {
    const auto* value = attr("value", onnx::AttributeProto::TENSOR);
    if (!value) fail("only the attribute 'value' (a tensor) is supported");
    define_constant(read_tensor(value->t(), "node '" + node_name_ + "' (Constant) value"));
  }

  /// Shape, Gather, Unsqueeze, Squeeze and Cast on what is known at import time: how PyTorch
  /// spells x.view(x.size(0), -1).
  void shape_arithmetic() {
    const std::string& op = node_->op_type();
    if (op == "Shape") {
      const Value& v = input_value(0);
      Constant c;
      c.integer = true;
      const std::vector<int64_t>& shape = v.is_constant() ? v.constant.shape : !v.view.empty() ? v.view : net_.tensors[v.tensor].shape;
      for (int64_t d : shape) c.values.push_back(double(d));
      c.shape = {int64_t(shape.size())};
      return define_constant(c);
    }
    const Value& v = input_value(0);
    if (!v.is_constant()) fail("computes on an activation; only shape arithmetic on constants is supported");
    Constant c = v.constant;
    if (op == "Cast") {
      const int64_t to = attr_int("to", -1);
      if (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32) {
        c.integer = true;
      } else if (to == onnx::TensorProto::FLOAT) {
        c.integer = false;
      } else {
        fail("casting to " + element_type_name(int32_t(to)) + " is not supported");
      }
      return define_constant(c);
    }
    if (op == "Gather") {
      const Value& iv = input_value(1);
      if (!iv.is_constant() || !iv.constant.integer) fail("the indices are not an integer constant");
      if (attr_int("axis", 0) != 0 || c.shape.size() != 1) fail("only axis 0 of a 1-D constant is supported");
      Constant out;
      out.integer = c.integer;
      out.shape = iv.constant.shape;
      for (double i : iv.constant.values) {
        const int64_t k = integer(i) < 0 ? integer(i) + c.shape[0] : integer(i);
        if (k < 0 || k >= c.shape[0]) fail("index " + std::to_string(integer(i)) + " is out of range");
        out.values.push_back(c.values[size_t(k)]);
      }
      return define_constant(out);
    }
    // Unsqueeze and Squeeze: the values stay, the shape changes.
    std::vector<int64_t> axes;
    if (opset_ >= 13) {
      if (has_input(1)) {
        for (double a : input_constant(1, "axes", true).values) axes.push_back(integer(a));
      }
    } else {
      axes = attr_ints("axes", {}, 0);
    }
    if (op == "Unsqueeze") {
      const int64_t rank = int64_t(c.shape.size() + axes.size());
      std::set<int64_t> at;
      for (int64_t a : axes) at.insert(a < 0 ? a + rank : a);
      std::vector<int64_t> shape;
      size_t next = 0;
      for (int64_t i = 0; i < rank; ++i) shape.push_back(at.count(i) ? 1 : (next < c.shape.size() ? c.shape[next++] : 1));
      c.shape = shape;
    } else {
      std::vector<int64_t> shape;
      for (size_t i = 0; i < c.shape.size(); ++i) {
        const bool listed = axes.empty() ? c.shape[i] == 1
                                         : std::count(axes.begin(), axes.end(), int64_t(i)) + std::count(axes.begin(), axes.end(), int64_t(i) - int64_t(c.shape.size())) > 0;
        if (!listed) shape.push_back(c.shape[i]);
      }
      c.shape = shape;
    }
    define_constant(c);
  }

  const onnx::ModelProto& model_;
  std::string label_;
  int64_t opset_ = 0;
  int node_index_ = 0;
  Network net_;
  std::map<std::string, Value> values_;
  std::map<std::string, int> producer_;
};

} // namespace

Network import_onnx_bytes(const std::string& bytes, const std::string& label) {
  onnx::ModelProto model;
  if (bytes.empty()) throw UserError("model '" + label + "': the file is empty");
  if (!model.ParseFromString(bytes)) throw UserError("model '" + label + "': not an ONNX model (its protobuf does not parse; truncated?)");
  if (!model.has_graph() || model.graph().node_size() == 0) throw UserError("model '" + label + "': the graph has no nodes");
  return Importer(model, label).run();
}

Network import_onnx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("--model '" + path + "' cannot be read");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  Network net = import_onnx_bytes(bytes.str(), path);
  if (net.name.empty()) net.name = path;
  return net;
}

} // namespace convtune
