/// \file The ONNX test builder itself: what it writes survives serialization with the shapes, attributes and data asked for.
#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tests/network/onnx_builder.h"

using namespace convtune::test;

namespace {

const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::vector<int64_t> ints_of(const onnx::AttributeProto& a) { return {a.ints().begin(), a.ints().end()}; }

std::map<std::string, const onnx::TensorProto*> initializers_of(const onnx::GraphProto& g) {
  std::map<std::string, const onnx::TensorProto*> by_name;
  for (const auto& t : g.initializer()) by_name[t.name()] = &t;
  return by_name;
}

// The floats of an initializer, whichever field holds them; raw_data is little-endian.
std::vector<float> floats_of(const onnx::TensorProto& t) {
  if (!t.has_raw_data()) return {t.float_data().begin(), t.float_data().end()};
  std::vector<float> values(t.raw_data().size() / 4);
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= uint32_t(static_cast<unsigned char>(t.raw_data()[4 * i + b])) << (8 * b);
    values[i] = std::bit_cast<float>(bits);
  }
  return values;
}

}  // namespace

TEST_CASE("a conv model round-trips through its serialized bytes", "[network]") {
  const auto build = [] {
    OnnxBuilder b;
    b.input("x", {-1, 4, 9, 9})
        .conv("conv1", "x", "c1", 4, 8, 3, 3, {2, 1}, {1, 0, 1, 2}, {1, 2}, 2)
        .batch_norm("bn1", "c1", "b1", 8)
        .relu("relu1", "b1", "y")
        .output("y", {-1, 8, 5, 5});
    return b;
  };
  const OnnxBuilder b = build();

  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(b.bytes()));
  CHECK(m.ir_version() == 7);
  REQUIRE(m.opset_import_size() == 1);
  CHECK(m.opset_import(0).domain().empty());
  CHECK(m.opset_import(0).version() == 13);

  const onnx::GraphProto& g = m.graph();
  REQUIRE(g.node_size() == 3);
  REQUIRE(g.input_size() == 1);
  const auto& in_shape = g.input(0).type().tensor_type().shape();
  REQUIRE(in_shape.dim_size() == 4);
  CHECK(in_shape.dim(0).dim_param() == "N");  // a negative dimension is dynamic
  CHECK(in_shape.dim(1).dim_value() == 4);

  const onnx::NodeProto& conv = g.node(0);
  CHECK(conv.op_type() == "Conv");
  CHECK(conv.name() == "conv1");
  REQUIRE(conv.input_size() == 3);
  CHECK(conv.input(1) == "conv1_w");
  CHECK(conv.input(2) == "conv1_b");
  REQUIRE(find_attr(conv, "kernel_shape"));
  CHECK(ints_of(*find_attr(conv, "kernel_shape")) == std::vector<int64_t>{3, 3});
  CHECK(ints_of(*find_attr(conv, "strides")) == std::vector<int64_t>{2, 1});
  CHECK(ints_of(*find_attr(conv, "pads")) == std::vector<int64_t>{1, 0, 1, 2});
  CHECK(ints_of(*find_attr(conv, "dilations")) == std::vector<int64_t>{1, 2});
  REQUIRE(find_attr(conv, "group"));
  CHECK(find_attr(conv, "group")->i() == 2);
  REQUIRE(find_attr(g.node(1), "epsilon"));
  CHECK(find_attr(g.node(1), "epsilon")->f() == 1e-5f);

  auto inits = initializers_of(g);
  REQUIRE(inits.size() == 6);
  const onnx::TensorProto& w = *inits.at("conv1_w");
  CHECK(std::vector<int64_t>(w.dims().begin(), w.dims().end()) == std::vector<int64_t>{8, 2, 3, 3});
  CHECK(w.data_type() == onnx::TensorProto::FLOAT);
  CHECK(w.float_data_size() == 0);
  CHECK(w.raw_data().size() == 4 * 8 * 2 * 3 * 3);
  CHECK(inits.at("conv1_b")->raw_data().size() == 4 * 8);
  for (float v : floats_of(w)) {
    REQUIRE(v >= -1.0f);
    REQUIRE(v < 1.0f);
  }
  for (float v : floats_of(*inits.at("bn1_var"))) REQUIRE(v >= 0.5f);

  // The same layers give the same bytes: the weights depend on names and seeds alone.
  CHECK(build().bytes() == b.bytes());
}

TEST_CASE("float_data storage, opset-dependent Clip and Pad, and default node names", "[network]") {
  for (int64_t opset : {9, 13}) {
    INFO("opset " << opset);
    OnnxBuilder b(opset);
    b.raw_data = false;
    b.input("x", {1, 3, 4, 4})
        .initializer("k", {2, 2}, std::vector<float>{1, 2, 3, 4})
        .pad("pad1", "x", "p", {0, 0, 1, 1, 0, 0, 1, 1}, 0.5f)
        .clip("clip1", "p", "c", 0.0f, 6.0f)
        .node("Identity", {"c"}, {"y"})
        .node("Constant", {}, {"z"}, {Attr::tensor("value", {2}, {7.0f, 8.0f})})
        .output("y");

    onnx::ModelProto m;
    REQUIRE(m.ParseFromString(b.bytes()));
    const onnx::GraphProto& g = m.graph();
    REQUIRE(g.node_size() == 4);
    CHECK(g.node(2).name() == "Identity_2");  // the counter counts every node added
    CHECK(g.node(3).name() == "Constant_3");
    CHECK(find_attr(g.node(3), "value")->t().float_data_size() == 2);
    CHECK_FALSE(g.output(0).type().tensor_type().has_shape());

    auto inits = initializers_of(g);
    CHECK(inits.at("k")->raw_data().empty());
    CHECK(floats_of(*inits.at("k")) == std::vector<float>{1, 2, 3, 4});
    const onnx::NodeProto& pad = g.node(0);
    const onnx::NodeProto& clip = g.node(1);
    if (opset < 11) {
      CHECK(pad.input_size() == 1);
      CHECK(ints_of(*find_attr(pad, "pads")) == std::vector<int64_t>{0, 0, 1, 1, 0, 0, 1, 1});
      CHECK(find_attr(pad, "value")->f() == 0.5f);
      CHECK(clip.input_size() == 1);
      CHECK(find_attr(clip, "max")->f() == 6.0f);
      CHECK(inits.size() == 1);
    } else {
      REQUIRE(pad.input_size() == 3);
      const onnx::TensorProto& pads = *inits.at(pad.input(1));
      CHECK(pads.data_type() == onnx::TensorProto::INT64);
      CHECK(std::vector<int64_t>(pads.int64_data().begin(), pads.int64_data().end()) ==
            std::vector<int64_t>{0, 0, 1, 1, 0, 0, 1, 1});
      CHECK(inits.at(pad.input(2))->dims_size() == 0);  // a scalar
      REQUIRE(clip.input_size() == 3);
      CHECK(floats_of(*inits.at(clip.input(2))) == std::vector<float>{6.0f});
    }
  }
}

TEST_CASE("an initializer with the wrong number of values is refused", "[network]") {
  OnnxBuilder b;
  CHECK_THROWS_AS(b.initializer("w", {2, 3}, std::vector<float>{1, 2}), std::invalid_argument);
}
