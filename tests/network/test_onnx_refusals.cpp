/// \file Every malformed or unsupported model is refused with one line naming the node (or the
/// model's part) and what is wrong; none crashes the importer.
#include <catch2/catch.hpp>

#include "compiler/onnx_import.h"
#include "tests/network/onnx_builder.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::test::Attr;
using convtune::test::OnnxBuilder;

namespace {

Network import(const OnnxBuilder& b) { return import_onnx_bytes(b.bytes(), "m.onnx"); }

/// A valid one-conv model to break.
OnnxBuilder conv_model(int64_t opset = 13) {
  OnnxBuilder b(opset);
  b.input("x", {1, 3, 8, 8}).conv("c", "x", "y", 3, 4, 3, 3).output("y");
  return b;
}

} // namespace

TEST_CASE("a model's frame is refused when it is not one convtune can run", "[network][refusals]") {
  REQUIRE_USER_ERROR(import_onnx_bytes("", "m.onnx"), "model 'm.onnx': the file is empty");
  REQUIRE_USER_ERROR(import_onnx_bytes("\x0a\xff\xff\xff\xff\x0f", "m.onnx"),
                     "model 'm.onnx': not an ONNX model (its protobuf does not parse; truncated?)");
  const std::string whole = conv_model().bytes();
  // Cut inside the weights: the protobuf parser sees a field longer than the bytes left.
  REQUIRE_USER_ERROR(import_onnx_bytes(whole.substr(0, whole.size() / 2), "m.onnx"),
                     "model 'm.onnx': not an ONNX model (its protobuf does not parse; truncated?)");
  REQUIRE_USER_ERROR(import(conv_model(9)), "model 'm.onnx': opset 9 is not supported (11 to 17)");
  REQUIRE_USER_ERROR(import(conv_model(18)), "model 'm.onnx': opset 18 is not supported (11 to 17)");
  REQUIRE_USER_ERROR(import_onnx("/nonexistent/m.onnx"), "--model '/nonexistent/m.onnx' cannot be read");

  OnnxBuilder dynamic;
  dynamic.input("x", {-1, 3, 8, 8}).conv("c", "x", "y", 3, 4, 3, 3).output("y");
  REQUIRE_USER_ERROR(import(dynamic), "model 'm.onnx': input 'x': dimension 0 is dynamic ('N'); export the model with a fixed input shape");
  OnnxBuilder integer;
  integer.input("x", {1, 3, 8, 8}, onnx::TensorProto::INT64).conv("c", "x", "y", 3, 4, 3, 3).output("y");
  REQUIRE_USER_ERROR(import(integer), "model 'm.onnx': input 'x': element type INT64 is not supported (f32 only)");
  OnnxBuilder two;
  two.input("x", {1, 3, 8, 8}).input("z", {1, 3, 8, 8}).add("a", "x", "z", "y").output("y");
  REQUIRE_USER_ERROR(import(two), "model 'm.onnx': the graph has 2 inputs ('x', 'z'); one is supported");
  OnnxBuilder rank3;
  rank3.input("x", {3, 8, 8}).relu("r", "x", "y").output("y");
  REQUIRE_USER_ERROR(import(rank3), "model 'm.onnx': input 'x' has shape 3x8x8; an NCHW image (rank 4) is expected");
  OnnxBuilder no_output = conv_model();
  no_output.model().mutable_graph()->mutable_output(0)->set_name("nothing");
  REQUIRE_USER_ERROR(import(no_output), "model 'm.onnx': output 'nothing' is produced by no node");
  OnnxBuilder mismatch;
  mismatch.input("x", {1, 3, 8, 8}).conv("c", "x", "y", 3, 4, 3, 3).output("y", {1, 4, 8, 8});
  REQUIRE_USER_ERROR(import(mismatch), "model 'm.onnx': output 'y' is declared 1x4x8x8 but its nodes compute 1x4x6x6");
  OnnxBuilder huge;
  huge.input("x", {1, 3, 1 << 20, 1 << 20}).relu("r", "x", "y").output("y");
  REQUIRE_USER_ERROR(import(huge), "model 'm.onnx': input 'x': the shape 1x3x1048576x1048576 has too many elements");
}

TEST_CASE("a node the importer cannot read is refused naming it", "[network][refusals]") {
  OnnxBuilder unknown;
  unknown.input("x", {1, 3, 8, 8}).node("Softmax", {"x"}, {"y"}, {}, "sm").output("y");
  REQUIRE_USER_ERROR(import(unknown), std::string("node 'sm' (Softmax): the operator is not supported (supported: ") + kSupportedOperators + ")");

  OnnxBuilder cycle;
  cycle.input("x", {1, 3, 8, 8}).add("a1", "x", "b", "a").relu("r", "a", "b").output("b");
  REQUIRE_USER_ERROR(import(cycle), "node 'a1' (Add): reads 'b' before node 'r' produces it (a cycle, or nodes out of order)");
  OnnxBuilder self;
  self.input("x", {1, 3, 8, 8}).add("a1", "x", "a", "a").output("a");
  REQUIRE_USER_ERROR(import(self), "node 'a1' (Add): reads 'a', its own output (a cycle)");
  OnnxBuilder dangling;
  dangling.input("x", {1, 3, 8, 8}).add("a1", "x", "ghost", "y").output("y");
  REQUIRE_USER_ERROR(import(dangling), "node 'a1' (Add): reads 'ghost', which no node, input or initializer produces");

  OnnxBuilder channels;
  channels.input("x", {1, 5, 8, 8}).initializer("w", {4, 3, 3, 3}, 1).node("Conv", {"x", "w"}, {"y"}, {}, "c").output("y");
  REQUIRE_USER_ERROR(import(channels),
                     "node 'c' (Conv): weights have 3 input channels per group; the input's 5 channels in 1 groups need 5");
  OnnxBuilder big_kernel;
  big_kernel.input("x", {1, 3, 2, 2}).conv("c", "x", "y", 3, 4, 5, 5).output("y");
  REQUIRE_USER_ERROR(import(big_kernel), "node 'c' (Conv): invalid workload: r=5: dilated kernel height 5 exceeds padded input height 2");
  OnnxBuilder pads;
  pads.input("x", {1, 3, 8, 8}).initializer("w", {4, 3, 3, 3}, 1);
  pads.node("Conv", {"x", "w"}, {"y"}, {Attr::ints("pads", {1, 1})}, "c").output("y");
  REQUIRE_USER_ERROR(import(pads), "node 'c' (Conv): pads has 2 values; 4 are expected");
  OnnxBuilder runtime_weights;
  runtime_weights.input("x", {1, 3, 8, 8}).relu("r", "x", "w").node("Conv", {"x", "w"}, {"y"}, {}, "c").output("y");
  REQUIRE_USER_ERROR(import(runtime_weights), "node 'c' (Conv): weights 'w' is computed at run time; a constant (initializer) is expected");

  OnnxBuilder broadcast;
  broadcast.input("x", {1, 3, 8, 8}).global_avg_pool("g", "x", "s").flatten("f", "s", "t").add("a", "x", "t", "y").output("y");
  REQUIRE_USER_ERROR(import(broadcast), "node 'a' (Add): broadcasting 1x3 over 1x3x8x8 is not supported (the same shape, or N x C x 1 x 1)");
  OnnxBuilder reflect;
  reflect.input("x", {1, 3, 8, 8}).initializer_i64("p", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
  reflect.node("Pad", {"x", "p"}, {"y"}, {Attr::s("mode", "reflect")}, "pad").output("y");
  REQUIRE_USER_ERROR(import(reflect), "node 'pad' (Pad): mode 'reflect' is not supported (constant only)");
  OnnxBuilder axis;
  axis.input("x", {1, 3, 8, 8}).concat("cat", {"x", "x"}, "y", 2).output("y");
  REQUIRE_USER_ERROR(import(axis), "node 'cat' (Concat): axis 2 is not supported (channels only)");
  OnnxBuilder reshape;
  reshape.input("x", {1, 4, 6, 6}).initializer_i64("s", {3}, {1, 4, 36});
  reshape.node("Reshape", {"x", "s"}, {"y"}, {}, "rs").output("y");
  REQUIRE_USER_ERROR(import(reshape),
                     "node 'rs' (Reshape): reshaping 1x4x6x6 to 1x4x36 is not supported (N x F, the same shape, or the channels split in two)");
  OnnxBuilder split;
  split.input("x", {1, 4, 6, 6}).initializer_i64("s", {5}, {1, 2, 2, 6, 6});
  split.node("Reshape", {"x", "s"}, {"v"}, {}, "rs").relu("r", "v", "y").output("y");
  REQUIRE_USER_ERROR(import(split), "node 'r' (Relu): input 'v' has shape 1x2x2x6x6; rank 4 (NCHW) is expected");
  OnnxBuilder transpose;
  transpose.input("x", {1, 4, 6, 6}).node("Transpose", {"x"}, {"y"}, {Attr::ints("perm", {0, 1, 3, 2})}, "tr").output("y");
  REQUIRE_USER_ERROR(import(transpose), "node 'tr' (Transpose): only the channel shuffle's transpose (perm 0,2,1,3,4 of N x g x C/g x H x W) is supported");
  OnnxBuilder truncated = conv_model();
  truncated.model().mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(10);
  REQUIRE_USER_ERROR(import(truncated), "initializer 'c_w': holds 2 values, its shape 4x3x3x3 needs 108 (truncated raw data?)");
  OnnxBuilder ceil_counted;
  ceil_counted.input("x", {1, 1, 6, 6});
  ceil_counted.node("AveragePool", {"x"}, {"y"}, {Attr::ints("kernel_shape", {3, 3}), Attr::ints("strides", {2, 2}), Attr::i("ceil_mode", 1), Attr::i("count_include_pad", 1)}, "ap");
  ceil_counted.output("y");
  REQUIRE_USER_ERROR(import(ceil_counted), "node 'ap' (AveragePool): ceil_mode with count_include_pad is not supported");
}
