/// \file Builds small ONNX models in memory through the protobuf API, so network tests need no Python or model files.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace convtune::test {

/// splitmix64: a tiny generator whose sequence is fixed by its seed alone, so weights are the same
/// on every machine and standard library (std::uniform_real_distribution is not).
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// A float in [-1, 1): the top 24 bits scaled, so every value is exact in f32.
  float next_float() { return static_cast<float>(next() >> 40) * (2.0f / 16777216.0f) - 1.0f; }

private:
  uint64_t state_;
};

/// `count` values in [-1, 1) from `seed`: what initializer(name, shape, seed) stores.
inline std::vector<float> random_values(size_t count, uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> values(count);
  for (float& v : values) v = rng.next_float();
  return values;
}

/// The number of elements of a tensor of `shape` (1 for a scalar, shape {}).
inline size_t element_count(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

/// A node attribute, made by one of the static factories.
struct Attr {
  onnx::AttributeProto proto;

  static Attr i(const std::string& name, int64_t value) {
    Attr a = named(name, onnx::AttributeProto::INT);
    a.proto.set_i(value);
    return a;
  }
  static Attr f(const std::string& name, float value) {
    Attr a = named(name, onnx::AttributeProto::FLOAT);
    a.proto.set_f(value);
    return a;
  }
  static Attr s(const std::string& name, const std::string& value) {
    Attr a = named(name, onnx::AttributeProto::STRING);
    a.proto.set_s(value);
    return a;
  }
  static Attr ints(const std::string& name, const std::vector<int64_t>& values) {
    Attr a = named(name, onnx::AttributeProto::INTS);
    *a.proto.mutable_ints() = {values.begin(), values.end()};
    return a;
  }
  static Attr floats(const std::string& name, const std::vector<float>& values) {
    Attr a = named(name, onnx::AttributeProto::FLOATS);
    *a.proto.mutable_floats() = {values.begin(), values.end()};
    return a;
  }
  /// An f32 tensor attribute (Constant's "value"), stored as float_data.
  static Attr tensor(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& values) {
    Attr a = named(name, onnx::AttributeProto::TENSOR);
    onnx::TensorProto* t = a.proto.mutable_t();
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
    return a;
  }
  /// An int64 tensor attribute (a Constant that feeds Reshape's shape), stored as int64_data.
  static Attr tensor_i64(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int64_t>& values) {
    Attr a = named(name, onnx::AttributeProto::TENSOR);
    onnx::TensorProto* t = a.proto.mutable_t();
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : shape) t->add_dims(d);
    for (int64_t v : values) t->add_int64_data(v);
    return a;
  }

private:
  static Attr named(const std::string& name, onnx::AttributeProto::AttributeType type) {
    Attr a;
    a.proto.set_name(name);
    a.proto.set_type(type);
    return a;
  }
};

/// An ONNX model under construction: graph inputs, outputs, initializers and nodes in the order
/// they are added (a test that wants them out of order writes them so).
class OnnxBuilder {
public:
  /// Store initializer data as little-endian raw_data bytes (what exporters write) rather than
  /// float_data / int64_data; set before adding initializers.
  bool raw_data = true;
  /// Mixed into the seed of every weight a layer function makes, so two builders can differ.
  uint64_t seed = 0;

  /// An empty model of IR version 7 importing the default domain at `opset`.
  explicit OnnxBuilder(int64_t opset = 13) : opset_(opset) {
    model_.set_ir_version(7);
    model_.set_producer_name("convtune-test");
    onnx::OperatorSetIdProto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    model_.mutable_graph()->set_name("convtune_test");
  }

  int64_t opset() const { return opset_; }

  /// A graph input; a dimension < 0 is written as dim_param "N" (dynamic).
  OnnxBuilder& input(const std::string& name, std::vector<int64_t> shape, int32_t elem_type = onnx::TensorProto::FLOAT) {
    value_info(model_.mutable_graph()->add_input(), name, shape, elem_type, true);
    return *this;
  }
  /// A graph output (f32); an empty shape writes no shape information at all (valid ONNX, but
  /// ONNX 1.12's checker::check_model wants a shape on graph outputs).
  OnnxBuilder& output(const std::string& name, std::vector<int64_t> shape = {}) {
    value_info(model_.mutable_graph()->add_output(), name, shape, onnx::TensorProto::FLOAT, !shape.empty());
    return *this;
  }

  /// An f32 initializer of deterministic values in [-1, 1) from `seed`.
  OnnxBuilder& initializer(const std::string& name, std::vector<int64_t> shape, uint64_t seed) {
    return initializer(name, shape, random_values(element_count(shape), seed));
  }
  /// An f32 initializer of the given values (as many as `shape` has elements).
  OnnxBuilder& initializer(const std::string& name, std::vector<int64_t> shape, std::vector<float> values) {
    onnx::TensorProto* t = tensor(name, shape, values.size(), onnx::TensorProto::FLOAT);
    if (!raw_data) *t->mutable_float_data() = {values.begin(), values.end()};
    else for (float v : values) append_le(t->mutable_raw_data(), std::bit_cast<uint32_t>(v), 4);
    return *this;
  }
  /// An int64 initializer, e.g. Reshape's shape or Pad's pads (opset >= 11).
  OnnxBuilder& initializer_i64(const std::string& name, std::vector<int64_t> shape, std::vector<int64_t> values) {
    onnx::TensorProto* t = tensor(name, shape, values.size(), onnx::TensorProto::INT64);
    if (!raw_data) *t->mutable_int64_data() = {values.begin(), values.end()};
    else for (int64_t v : values) append_le(t->mutable_raw_data(), static_cast<uint64_t>(v), 8);
    return *this;
  }

  /// A node; an empty `name` becomes `op + "_" + counter`. An empty input name is an omitted
  /// optional input, as in ONNX.
  OnnxBuilder& node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                    std::vector<Attr> attrs = {}, const std::string& name = "") {
    onnx::NodeProto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(node_counter_) : name);
    ++node_counter_;
    for (const std::string& in : inputs) n->add_input(in);
    for (const std::string& out : outputs) n->add_output(out);
    for (Attr& a : attrs) *n->add_attribute() = std::move(a.proto);
    return *this;
  }

  // Layers with seeded weights named <name>_w, <name>_b, ...; the seed of each is its name's hash,
  // so adding a layer does not change the weights of the others.

  /// Conv of `c` -> `k` channels, kernel r x s; weights {k, c/group, r, s}, bias {k}. `pads` is
  /// ONNX's order: {top, left, bottom, right}.
  OnnxBuilder& conv(const std::string& name, const std::string& in, const std::string& out, int64_t c, int64_t k,
                    int64_t r, int64_t s, std::vector<int64_t> strides = {1, 1}, std::vector<int64_t> pads = {0, 0, 0, 0},
                    std::vector<int64_t> dilations = {1, 1}, int64_t group = 1, bool bias = true) {
    initializer(name + "_w", {k, c / group, r, s}, weight_seed(name + "_w"));
    std::vector<std::string> inputs{in, name + "_w"};
    if (bias) {
      initializer(name + "_b", {k}, weight_seed(name + "_b"));
      inputs.push_back(name + "_b");
    }
    return node("Conv", inputs, {out},
                {Attr::ints("kernel_shape", {r, s}), Attr::ints("strides", strides), Attr::ints("pads", pads),
                 Attr::ints("dilations", dilations), Attr::i("group", group)},
                name);
  }
  /// BatchNormalization with <name>_scale, _b, _mean and _var (0.5 + |random|, so positive).
  OnnxBuilder& batch_norm(const std::string& name, const std::string& in, const std::string& out, int64_t channels) {
    initializer(name + "_scale", {channels}, weight_seed(name + "_scale"));
    initializer(name + "_b", {channels}, weight_seed(name + "_b"));
    initializer(name + "_mean", {channels}, weight_seed(name + "_mean"));
    std::vector<float> var = random_values(static_cast<size_t>(channels), weight_seed(name + "_var"));
    for (float& v : var) v = 0.5f + std::fabs(v);
    initializer(name + "_var", {channels}, var);
    return node("BatchNormalization", {in, name + "_scale", name + "_b", name + "_mean", name + "_var"}, {out},
                {Attr::f("epsilon", 1e-5f)}, name);
  }
  OnnxBuilder& relu(const std::string& name, const std::string& in, const std::string& out) {
    return node("Relu", {in}, {out}, {}, name);
  }
  OnnxBuilder& sigmoid(const std::string& name, const std::string& in, const std::string& out) {
    return node("Sigmoid", {in}, {out}, {}, name);
  }
  /// Clip: from opset 11 min and max are scalar inputs (<name>_min, <name>_max), before it attributes.
  OnnxBuilder& clip(const std::string& name, const std::string& in, const std::string& out, float lo, float hi) {
    if (opset_ < 11) return node("Clip", {in}, {out}, {Attr::f("min", lo), Attr::f("max", hi)}, name);
    initializer(name + "_min", {}, std::vector<float>{lo});
    initializer(name + "_max", {}, std::vector<float>{hi});
    return node("Clip", {in, name + "_min", name + "_max"}, {out}, {}, name);
  }
  OnnxBuilder& add(const std::string& name, const std::string& a, const std::string& b, const std::string& out) {
    return node("Add", {a, b}, {out}, {}, name);
  }
  OnnxBuilder& mul(const std::string& name, const std::string& a, const std::string& b, const std::string& out) {
    return node("Mul", {a, b}, {out}, {}, name);
  }
  /// MaxPool; ceil_mode is written from opset 10, where it exists.
  OnnxBuilder& max_pool(const std::string& name, const std::string& in, const std::string& out,
                        std::vector<int64_t> kernel, std::vector<int64_t> strides, std::vector<int64_t> pads,
                        int64_t ceil_mode = 0) {
    std::vector<Attr> attrs{Attr::ints("kernel_shape", kernel), Attr::ints("strides", strides), Attr::ints("pads", pads)};
    if (opset_ >= 10) attrs.push_back(Attr::i("ceil_mode", ceil_mode));
    return node("MaxPool", {in}, {out}, attrs, name);
  }
  OnnxBuilder& avg_pool(const std::string& name, const std::string& in, const std::string& out,
                        std::vector<int64_t> kernel, std::vector<int64_t> strides, std::vector<int64_t> pads,
                        int64_t count_include_pad = 0) {
    return node("AveragePool", {in}, {out},
                {Attr::ints("kernel_shape", kernel), Attr::ints("strides", strides), Attr::ints("pads", pads),
                 Attr::i("count_include_pad", count_include_pad)},
                name);
  }
  OnnxBuilder& global_avg_pool(const std::string& name, const std::string& in, const std::string& out) {
    return node("GlobalAveragePool", {in}, {out}, {}, name);
  }
  OnnxBuilder& flatten(const std::string& name, const std::string& in, const std::string& out, int64_t axis = 1) {
    return node("Flatten", {in}, {out}, {Attr::i("axis", axis)}, name);
  }
  /// Gemm y = x W^T + b: weights {out_features, in_features} when trans_b, else {in, out}; bias {out}.
  OnnxBuilder& gemm(const std::string& name, const std::string& in, const std::string& out, int64_t in_features,
                    int64_t out_features, int64_t trans_b = 1) {
    std::vector<int64_t> w_shape = trans_b ? std::vector<int64_t>{out_features, in_features}
                                           : std::vector<int64_t>{in_features, out_features};
    initializer(name + "_w", w_shape, weight_seed(name + "_w"));
    initializer(name + "_b", {out_features}, weight_seed(name + "_b"));
    return node("Gemm", {in, name + "_w", name + "_b"}, {out}, {Attr::i("transB", trans_b)}, name);
  }
  OnnxBuilder& concat(const std::string& name, std::vector<std::string> inputs, const std::string& out,
                      int64_t axis = 1) {
    return node("Concat", inputs, {out}, {Attr::i("axis", axis)}, name);
  }
  /// Constant Pad; `pads` is ONNX's 8 values for NCHW, begins then ends. From opset 11 pads and
  /// the value are inputs (<name>_pads int64, <name>_value scalar), before it attributes.
  OnnxBuilder& pad(const std::string& name, const std::string& in, const std::string& out, std::vector<int64_t> pads,
                   float value = 0.0f) {
    if (opset_ < 11)
      return node("Pad", {in}, {out}, {Attr::s("mode", "constant"), Attr::ints("pads", pads), Attr::f("value", value)},
                  name);
    initializer_i64(name + "_pads", {static_cast<int64_t>(pads.size())}, pads);
    initializer(name + "_value", {}, std::vector<float>{value});
    return node("Pad", {in, name + "_pads", name + "_value"}, {out}, {Attr::s("mode", "constant")}, name);
  }

  /// The model itself, for tests that corrupt it.
  onnx::ModelProto& model() { return model_; }
  std::string bytes() const { return model_.SerializeAsString(); }
  void save(const std::string& path) const {
    std::ofstream file(path, std::ios::binary);
    if (!file || !model_.SerializeToOstream(&file)) throw std::runtime_error("cannot write ONNX model to " + path);
  }

private:
  static void value_info(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& shape,
                         int32_t elem_type, bool with_shape) {
    v->set_name(name);
    onnx::TypeProto::Tensor* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(elem_type);
    if (!with_shape) return;
    onnx::TensorShapeProto* s = t->mutable_shape();  // present even for a scalar: rank 0
    for (int64_t d : shape) {
      if (d < 0) s->add_dim()->set_dim_param("N");
      else s->add_dim()->set_dim_value(d);
    }
  }
  onnx::TensorProto* tensor(const std::string& name, const std::vector<int64_t>& shape, size_t count, int32_t type) {
    if (count != element_count(shape))
      throw std::invalid_argument("initializer " + name + ": " + std::to_string(count) + " values for " +
                                  std::to_string(element_count(shape)) + " elements");
    onnx::TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : shape) t->add_dims(d);
    return t;
  }
  // Byte by byte, so the bytes are little-endian (as ONNX requires) whatever the host's order.
  static void append_le(std::string* bytes, uint64_t bits, int width) {
    for (int i = 0; i < width; ++i) bytes->push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  }
  // FNV-1a of the weight's name, mixed with the builder's seed.
  uint64_t weight_seed(const std::string& weight) const {
    uint64_t h = 0xCBF29CE484222325ull;
    for (unsigned char ch : weight) h = (h ^ ch) * 0x100000001B3ull;
    return h ^ seed;
  }

  onnx::ModelProto model_;
  int64_t opset_;
  int node_counter_ = 0;
};

}  // namespace convtune::test
