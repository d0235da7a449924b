/// \file Networks imported from ONNX models the tests build: each operator alone and fused, run
/// with JIT kernels and checked against the reference interpreter of the unfused model; the
/// operators' own semantics checked against values worked out here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tests/network/network_test_support.h"

using namespace convtune;
using namespace convtune::testing;
using convtune::test::Attr;
using convtune::test::OnnxBuilder;

namespace {

/// The kinds of the network's layers in order, with each conv's epilogue: "conv:bias_relu pool ...".
std::string layer_summary(const Network& net) {
  std::string s;
  for (const NetLayer& l : net.layers) {
    s += (s.empty() ? "" : " ") + std::string(layer_kind_name(l.kind));
    if (l.kind == LayerKind::Conv) s += ":" + l.wl.epilogue;
  }
  return s;
}

} // namespace

TEST_CASE("each convolution shape of ONNX runs as the reference computes it", "[network]") {
  SECTION("grouped, dilated, strided, asymmetric pads, odd channels, batch 2, non-square") {
    OnnxBuilder b;
    b.input("x", {2, 6, 11, 9}).conv("c", "x", "y", 6, 9, 3, 2, {2, 1}, {0, 2, 1, 0}, {2, 1}, 3).output("y");
    const Network net = require_matches_reference(b);
    CHECK(net.layers.at(0).wl.groups == 3);
    CHECK(net.layers.at(0).wl.pad_left == 2);
    CHECK(net.layers.at(0).wl.pad_bottom == 1);
  }
  SECTION("depthwise and 1x1 on a 1x1 image") {
    OnnxBuilder b;
    b.input("x", {1, 5, 1, 1}).conv("dw", "x", "y", 5, 5, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 5).conv("pw", "y", "z", 5, 7, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, false).output("z");
    require_matches_reference(b);
  }
  SECTION("auto_pad SAME_UPPER and SAME_LOWER put the odd padding at the end and the start") {
    for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
      OnnxBuilder b;
      b.input("x", {1, 3, 8, 8}).initializer("w", {4, 3, 2, 2}, 3);
      b.node("Conv", {"x", "w"}, {"y"}, {Attr::s("auto_pad", mode), Attr::ints("strides", {1, 1})}, "c");
      b.output("y");
      const Network net = require_matches_reference(b);
      const Workload& wl = net.layers.at(0).wl;
      CHECK(wl.p() == 8);
      CHECK(wl.pad_top + wl.pad_bottom == 1);
      CHECK(wl.pad_bottom == (std::string(mode) == "SAME_UPPER" ? 1 : 0));
    }
  }
}

TEST_CASE("fusion folds BatchNorm, ReLU, ReLU6 and residual adds into the convolution's epilogue", "[network]") {
  SECTION("a ResNet basic block: conv-bn-relu, conv-bn, + identity, relu") {
    OnnxBuilder b;
    b.input("x", {2, 8, 9, 7})
        .conv("c1", "x", "a", 8, 8, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, false)
        .batch_norm("bn1", "a", "b", 8)
        .relu("r1", "b", "c")
        .conv("c2", "c", "d", 8, 8, 3, 3, {1, 1}, {1, 1, 1, 1})
        .batch_norm("bn2", "d", "e", 8)
        .add("add", "e", "x", "f")
        .relu("r2", "f", "y")
        .output("y");
    const Network net = require_matches_reference(b);
    CHECK(layer_summary(net) == "conv:bias_relu conv:bias_add_relu");
    CHECK(net.layers[1].nodes == std::vector<std::string>{"Conv c2", "BatchNormalization bn2", "Add add", "Relu r2"});
  }
  SECTION("a MobileNetV2 block: expand with ReLU6, depthwise with ReLU6, project, + input without an activation") {
    OnnxBuilder b;
    b.input("x", {1, 6, 10, 10})
        .conv("e", "x", "a", 6, 12, 1, 1)
        .clip("e6", "a", "b", 0, 6)
        .conv("dw", "b", "c", 12, 12, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 12)
        .clip("dw6", "c", "d", 0, 6)
        .conv("p", "d", "f", 12, 6, 1, 1)
        .add("add", "x", "f", "y")
        .output("y");
    const Network net = require_matches_reference(b);
    CHECK(layer_summary(net) == "conv:bias_relu6 conv:bias_relu6 conv:bias_add");
  }
  SECTION("nothing fuses into a convolution whose output has another reader, or is the result") {
    OnnxBuilder b;
    b.input("x", {1, 4, 6, 6}).conv("c", "x", "a", 4, 4, 3, 3, {1, 1}, {1, 1, 1, 1}).relu("r", "a", "b").add("add", "a", "b", "y").output("y");
    const Network net = require_matches_reference(b);
    CHECK(layer_summary(net) == "conv:bias elementwise elementwise");
  }
  SECTION("swish, x * sigmoid(x) (EfficientNet's SiLU), is one pass; not when the sigmoid has another reader") {
    OnnxBuilder b;
    b.input("x", {1, 5, 6, 7})
        .conv("c1", "x", "a", 5, 7, 3, 3, {1, 1}, {1, 1, 1, 1})
        .sigmoid("sg", "a", "g")
        .mul("swish", "g", "a", "b")
        .conv("c2", "b", "y", 7, 3, 1, 1)
        .output("y");
    const Network net = require_matches_reference(b);
    CHECK(layer_summary(net) == "conv:bias elementwise conv:bias");
    CHECK(net.layers[1].nodes == std::vector<std::string>{"Sigmoid sg", "Mul swish"});
    CHECK(net.layers[1].activation.kind == Activation::Kind::Silu);
    OnnxBuilder shared;
    shared.input("x", {1, 4, 5, 5}).sigmoid("sg", "x", "g").mul("m", "x", "g", "p").add("add", "p", "g", "y").output("y");
    CHECK(layer_summary(require_matches_reference(shared)) == "elementwise elementwise elementwise");
  }
  SECTION("a BatchNorm with no convolution before it, then ReLU: one per-channel layer (DenseNet)") {
    OnnxBuilder b;
    b.input("x", {1, 5, 4, 4}).batch_norm("bn", "x", "a", 5).relu("r", "a", "y").output("y");
    const Network net = require_matches_reference(b);
    CHECK(layer_summary(net) == "elementwise");
  }
  SECTION("zero padding joins the convolution") {
    OnnxBuilder b;
    b.input("x", {1, 3, 5, 5}).pad("p", "x", "a", {0, 0, 1, 2, 0, 0, 0, 1}).conv("c", "a", "y", 3, 4, 3, 3).output("y");
    const Network net = require_matches_reference(b);
    CHECK(layer_summary(net) == "conv:bias");
    CHECK(net.layers[0].wl.pad_top == 1);
    CHECK(net.layers[0].wl.pad_left == 2);
    CHECK(net.layers[0].wl.pad_right == 1);
  }
}

TEST_CASE("pooling, squeeze-and-excitation, concat and the classifier head run as the reference", "[network]") {
  SECTION("max pooling with ceil_mode (GoogLeNet, SqueezeNet) and both average countings") {
    OnnxBuilder b;
    b.input("x", {1, 3, 10, 10})
        .max_pool("mp", "x", "a", {3, 3}, {2, 2}, {0, 0, 0, 0}, 1)
        .avg_pool("ap", "a", "b", {3, 3}, {1, 1}, {1, 1, 1, 1}, 1)
        .avg_pool("ap0", "b", "y", {2, 2}, {1, 1}, {1, 0, 0, 1}, 0)
        .output("y");
    const Network net = require_matches_reference(b);
    // ceil((10 - 3) / 2) + 1 = 5 windows where floor gives 4.
    CHECK(net.tensors[net.layers[0].output].shape == std::vector<int64_t>{1, 3, 5, 5});
  }
  SECTION("squeeze-and-excitation: x * sigmoid(fc(relu(fc(mean x)))) and hard-sigmoid") {
    OnnxBuilder b;
    b.input("x", {2, 8, 5, 5})
        .global_avg_pool("gap", "x", "s")
        .conv("fc1", "s", "t", 8, 4, 1, 1)
        .relu("r", "t", "u")
        .conv("fc2", "u", "v", 4, 8, 1, 1)
        .sigmoid("sg", "v", "w")
        .mul("se", "x", "w", "y1");
    b.node("HardSigmoid", {"y1"}, {"y2"}, {Attr::f("alpha", 1.0f / 6)}, "hs");
    b.mul("hswish", "y1", "y2", "y").output("y");
    require_matches_reference(b);
  }
  SECTION("a fire module: squeeze, two expands, concat on channels") {
    OnnxBuilder b;
    b.input("x", {1, 6, 7, 7})
        .conv("sq", "x", "s", 6, 3, 1, 1)
        .relu("r", "s", "t")
        .conv("e1", "t", "a", 3, 5, 1, 1)
        .conv("e3", "t", "c", 3, 4, 3, 3, {1, 1}, {1, 1, 1, 1})
        .concat("cat", {"a", "c"}, "y")
        .output("y");
    require_matches_reference(b);
  }
  SECTION("the head: global average, flatten, Gemm; and Reshape, ReduceMean, MatMul") {
    OnnxBuilder b;
    b.input("x", {2, 6, 3, 3}).global_avg_pool("gap", "x", "a").flatten("f", "a", "b").gemm("fc", "b", "y", 6, 10).output("y");
    const Network net = require_matches_reference(b);
    CHECK(net.tensors[net.output].shape == std::vector<int64_t>{2, 10});

    OnnxBuilder m;
    m.input("x", {2, 6, 3, 3}).initializer_i64("shape", {2}, {0, -1}).initializer("w", {54, 4}, 11);
    m.node("Reshape", {"x", "shape"}, {"a"}, {}, "rs");
    m.node("MatMul", {"a", "w"}, {"y1"}, {}, "mm");
    m.node("ReduceMean", {"x"}, {"y2"}, {Attr::ints("axes", {2, 3}), Attr::i("keepdims", 0)}, "rm");
    m.node("Concat", {"y1", "y2"}, {"y"}, {Attr::i("axis", 1)}, "cat");
    m.output("y");
    const Network mnet = require_matches_reference(m);
    CHECK(mnet.tensors[mnet.output].shape == std::vector<int64_t>{2, 10});
  }
}

TEST_CASE("the operators compute what ONNX defines (values worked out by hand)", "[network]") {
  // One channel of 2x2, chosen values; each model's output compared with the definition.
  const std::vector<float> x = {-7.0f, -0.5f, 2.0f, 9.0f};
  const auto run = [&](OnnxBuilder& b) {
    const Network net = fused_network(b);
    return run_network(net, x);
  };
  SECTION("Clip, HardSigmoid, Sigmoid, x * sigmoid(x)") {
    OnnxBuilder b;
    b.input("x", {1, 1, 2, 2}).clip("c", "x", "y", -1, 6).output("y");
    CHECK(run(b) == std::vector<float>{-1.0f, -0.5f, 2.0f, 6.0f});
    OnnxBuilder h;
    h.input("x", {1, 1, 2, 2});
    h.node("HardSigmoid", {"x"}, {"y"}, {Attr::f("alpha", 0.25f), Attr::f("beta", 0.5f)}, "hs");
    h.output("y");
    CHECK(run(h) == std::vector<float>{0.0f, 0.375f, 1.0f, 1.0f});
    OnnxBuilder s;
    s.input("x", {1, 1, 2, 2}).sigmoid("s", "x", "y").output("y");
    const std::vector<float> got = run(s);
    for (size_t i = 0; i < x.size(); ++i) CHECK(got[i] == Approx(1 / (1 + std::exp(-double(x[i])))).epsilon(1e-6));
    OnnxBuilder w;
    w.input("x", {1, 1, 2, 2}).sigmoid("s", "x", "g").mul("m", "x", "g", "y").output("y");
    const std::vector<float> swish = run(w);
    for (size_t i = 0; i < x.size(); ++i) CHECK(swish[i] == Approx(x[i] / (1 + std::exp(-double(x[i])))).epsilon(1e-6));
  }
  SECTION("Pad with a value, BatchNormalization's formula") {
    OnnxBuilder b;
    b.input("x", {1, 1, 2, 2}).pad("p", "x", "y", {0, 0, 0, 1, 0, 0, 1, 0}, 3.5f).output("y");
    CHECK(run(b) == std::vector<float>{3.5f, -7.0f, -0.5f, 3.5f, 2.0f, 9.0f, 3.5f, 3.5f, 3.5f});
    OnnxBuilder n;
    n.input("x", {1, 1, 2, 2}).initializer("s", {1}, std::vector<float>{2.0f}).initializer("bb", {1}, std::vector<float>{1.0f});
    n.initializer("m", {1}, std::vector<float>{0.5f}).initializer("v", {1}, std::vector<float>{4.0f - 1e-5f});
    n.node("BatchNormalization", {"x", "s", "bb", "m", "v"}, {"y"}, {Attr::f("epsilon", 1e-5f)}, "bn");
    n.output("y");
    const std::vector<float> got = run(n);
    for (size_t i = 0; i < x.size(); ++i) CHECK(got[i] == Approx(2 * (x[i] - 0.5) / 2 + 1).epsilon(1e-5));
  }
  SECTION("average pooling counts padding only when asked") {
    OnnxBuilder a;
    a.input("x", {1, 1, 2, 2}).avg_pool("ap", "x", "y", {2, 2}, {1, 1}, {1, 1, 0, 0}, 0).output("y");
    CHECK(run(a) == std::vector<float>{-7.0f, -3.75f, -2.5f, 0.875f});
    OnnxBuilder c;
    c.input("x", {1, 1, 2, 2}).avg_pool("ap", "x", "y", {2, 2}, {1, 1}, {1, 1, 0, 0}, 1).output("y");
    CHECK(run(c) == std::vector<float>{-1.75f, -1.875f, -1.25f, 0.875f});
  }
}

TEST_CASE("the workspace plan overlaps no two live tensors and beats the sum of intermediates", "[network]") {
  // A DenseNet-like chain of concats keeps early tensors alive across many layers.
  OnnxBuilder b;
  b.input("x", {1, 4, 8, 8}).conv("c0", "x", "t0", 4, 4, 3, 3, {1, 1}, {1, 1, 1, 1});
  std::vector<std::string> features = {"t0"};
  int64_t channels = 4;
  for (int i = 1; i <= 5; ++i) {
    const std::string cat = "cat" + std::to_string(i), out = "t" + std::to_string(i);
    b.concat("concat" + std::to_string(i), features, cat);
    b.conv("c" + std::to_string(i), cat, out, channels, 4, 3, 3, {1, 1}, {1, 1, 1, 1});
    b.relu("r" + std::to_string(i), out, out + "r");
    features.push_back(out + "r");
    channels += 4;
  }
  b.concat("final", features, "y").output("y");
  const Network net = require_matches_reference(b);
  const WorkspacePlan plan = net.plan_workspace();
  CHECK(plan.workspace_bytes < plan.sum_bytes);
  CHECK(plan.workspace_bytes >= plan.peak_live_bytes);
  for (const TensorPlacement& a : plan.placements) {
    CHECK(a.offset_bytes % 64 == 0);
    for (const TensorPlacement& c : plan.placements) {
      if (&a == &c) continue;
      const bool live_together = a.first_layer <= c.last_layer && c.first_layer <= a.last_layer;
      const bool overlap = a.offset_bytes < c.offset_bytes + c.bytes && c.offset_bytes < a.offset_bytes + a.bytes;
      INFO(net.tensors[a.tensor].name << " and " << net.tensors[c.tensor].name);
      CHECK_FALSE((live_together && overlap));
    }
  }
}

TEST_CASE("tensors between kernels stay in the layout their readers pack to, and compute as the reference", "[network][layout]") {
  // conv -> depthwise (strided) -> max pool -> 1x1 -> 1x1 -> 1x1 adding the first 1x1's output
  // as its residual -> global average pool; batch 2, odd sizes, channels no vector fills.
  OnnxBuilder b;
  b.input("x", {2, 6, 11, 9})
      .conv("c1", "x", "a0", 6, 12, 3, 3, {1, 1}, {1, 1, 1, 1})
      .relu("r1", "a0", "a")
      .conv("dw", "a", "b", 12, 12, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 12)
      .max_pool("mp", "b", "m", {3, 3}, {1, 1}, {1, 1, 1, 1})
      .conv("c3", "m", "d", 12, 10, 1, 1)
      .conv("c4", "d", "f", 10, 10, 1, 1)
      .conv("c5", "f", "e0", 10, 10, 1, 1)
      .add("add", "e0", "d", "e1")
      .relu("r2", "e1", "e")
      .global_avg_pool("gap", "e", "y")
      .output("y");
  const Network net = fused_network(b);
  const std::unique_ptr<NetworkRunner> kept = default_runner(net);
  NetworkRunner& runner = *kept;
  const auto tensor_named = [&](const std::string& name) { return testing::tensor_named(net, name); };
  // Read by one kernel: blocked as it packs; read by one as its input and by another as its
  // residual: blocked as the first packs. A tensor the global pool's plain loops read, and the
  // network's input: dense.
  for (const char* name : {"a", "b", "m", "d", "f"}) {
    INFO(name);
    REQUIRE(runner.layouts()[size_t(tensor_named(name))].has_value());
  }
  CHECK(runner.layouts()[size_t(tensor_named("a"))]->top == 1);
  CHECK(runner.layouts()[size_t(tensor_named("b"))]->exterior == -std::numeric_limits<double>::infinity());
  CHECK(runner.layouts()[size_t(tensor_named("m"))]->top == 0);
  CHECK(!runner.layouts()[size_t(tensor_named("e"))].has_value());
  CHECK(!runner.layouts()[size_t(net.input)].has_value());
  CHECK(blocked_count(runner.layouts()) == 5);

  // Every intermediate, read back dense, is the reference's.
  const std::vector<float> input = random_input(net);
  const std::vector<std::vector<double>> expected = reference_network(net, input);
  std::vector<float> output(size_t(net.tensors[net.output].elements()));
  for (int round = 0; round < 2; ++round) {  // the second over a workspace the first left dirty
    runner.run(input.data(), output.data(), [&](size_t i) {
      const int t = net.layers[i].output;
      INFO("layer " << net.layers[i].name << " round " << round);
      CHECK(relative_error(runner.tensor(t), expected[size_t(t)]) < 1e-5);
    });
    CHECK(relative_error(output.data(), expected[size_t(net.output)]) < 1e-5);
  }
}

TEST_CASE("readers packing a tensor otherwise read it blocked; one only added as a residual takes its reader's layout", "[network][layout]") {
  // A ResNet downsampling block after a 1x1: the block's input read by a padded 3x3 and a strided
  // 1x1 (two packings), the 1x1's output only added as the second 3x3's residual, then a 1x1
  // reading the sum, so that the sum is blocked.
  OnnxBuilder b;
  b.input("x0", {1, 8, 10, 10})
      .conv("c0", "x0", "x", 8, 8, 1, 1)
      .conv("c1", "x", "a", 8, 16, 3, 3, {2, 2}, {1, 1, 1, 1})
      .relu("r1", "a", "b")
      .conv("c2", "b", "c", 16, 16, 3, 3, {1, 1}, {1, 1, 1, 1})
      .conv("down", "x", "s", 8, 16, 1, 1, {2, 2})
      .add("add", "c", "s", "d0")
      .relu("r2", "d0", "d")
      .conv("c3", "d", "y", 16, 8, 1, 1)
      .output("y");
  const Network net = fused_network(b);
  const std::unique_ptr<NetworkRunner> runner = default_runner(net);
  const int shortcut = tensor_named(net, "s"), sum = tensor_named(net, "d");
  REQUIRE(runner->layouts()[size_t(tensor_named(net, "x"))].has_value());
  REQUIRE(runner->layouts()[size_t(sum)].has_value());
  REQUIRE(runner->layouts()[size_t(shortcut)].has_value());
  CHECK(*runner->layouts()[size_t(shortcut)] == *runner->layouts()[size_t(sum)]);
  const std::vector<float> input = random_input(net);
  std::vector<float> output(size_t(net.tensors[net.output].elements()));
  runner->run(input.data(), output.data());
  CHECK(relative_error(output.data(), reference_network(net, input)[size_t(net.output)]) < 1e-5);
}

TEST_CASE("timing a layer's candidates in the network keeps the fastest and the result", "[network]") {
  // Each convolution's first candidate is its naive nest (the algorithm unscheduled, many times
  // slower), its second the default: selection must switch every one and still compute right.
  OnnxBuilder b;
  b.input("x", {1, 16, 12, 12})
      .conv("c1", "x", "a", 16, 32, 3, 3, {1, 1}, {1, 1, 1, 1})
      .relu("r", "a", "c")
      .conv("c2", "c", "y", 32, 16, 3, 3, {1, 1}, {1, 1, 1, 1})
      .output("y");
  const Network net = fused_network(b);
  const Target target = host_target();
  NetworkRunner runner(net, target, [&](const Workload& wl) {
    return std::vector<ChosenSchedule>{{Schedule{}, "naive"}, {resolve_schedule("default", wl, target), "default"}};
  });
  const std::vector<float> input = random_input(net);
  CHECK(runner.select_fastest(input.data(), 3) == 2);
  for (size_t i = 0; i < net.layers.size(); ++i) {
    REQUIRE(runner.chosen(i) != nullptr);
    CHECK(runner.chosen(i)->source == "default");
  }
  CHECK(runner.kernels_compiled() == 2);  // the naive kernels are freed
  CHECK(blocked_count(runner.layouts()) == 1);    // c1 stores for c2's packing, once c2's schedule is known
  std::vector<float> output(size_t(net.tensors[net.output].elements()));
  runner.run(input.data(), output.data());
  CHECK(relative_error(output.data(), reference_network(net, input)[net.output]) < 1e-5);
}

TEST_CASE("a ShuffleNet unit: channels split by Slice, a branch, concat, channel shuffle", "[network]") {
  // torch.chunk's Slice bounds come from shape arithmetic (Shape, Gather, Div, Unsqueeze); the
  // shuffle is Reshape to N x g x C/g x H x W, Transpose(0, 2, 1, 3, 4), Reshape back.
  OnnxBuilder b;
  b.input("x", {2, 8, 5, 6});
  b.initializer_i64("zero", {1}, {0}).initializer_i64("one", {}, {1}).initializer_i64("two", {}, {2}).initializer_i64("axis", {1}, {1});
  b.initializer_i64("big", {1}, {INT64_MAX}).initializer_i64("split", {5}, {2, 2, 4, 5, 6}).initializer_i64("back", {4}, {2, -1, 5, 6});
  b.node("Shape", {"x"}, {"shape"}, {}, "shape");
  b.node("Gather", {"shape", "one"}, {"c"}, {Attr::i("axis", 0)}, "gather");
  b.node("Div", {"c", "two"}, {"half"}, {}, "div");
  b.node("Unsqueeze", {"half", "zero"}, {"half1"}, {}, "unsqueeze");
  b.node("Slice", {"x", "zero", "half1", "axis"}, {"left"}, {}, "slice_left");
  b.node("Slice", {"x", "half1", "big", "axis"}, {"right"}, {}, "slice_right");
  b.conv("branch", "right", "r1", 4, 4, 3, 3, {1, 1}, {1, 1, 1, 1}).relu("branch_relu", "r1", "r2");
  b.concat("cat", {"left", "r2"}, "joined");
  b.node("Reshape", {"joined", "split"}, {"grouped"}, {}, "to5d");
  b.node("Transpose", {"grouped"}, {"swapped"}, {Attr::ints("perm", {0, 2, 1, 3, 4})}, "transpose");
  b.node("Reshape", {"swapped", "back"}, {"y"}, {}, "to4d");
  b.output("y", {2, 8, 5, 6});
  const Network net = require_matches_reference(b);
  CHECK(layer_summary(net) == "slice slice conv:bias_relu concat channel_shuffle");

  // The shuffle itself against its definition: output channel j * g + i is input channel i * C/g + j.
  OnnxBuilder s;
  s.input("x", {1, 6, 1, 1}).initializer_i64("split", {5}, {1, 2, 3, 1, 1}).initializer_i64("back", {4}, {1, 6, 1, 1});
  s.node("Reshape", {"x", "split"}, {"g"}, {}, "to5d");
  s.node("Transpose", {"g"}, {"t"}, {Attr::ints("perm", {0, 2, 1, 3, 4})}, "transpose");
  s.node("Reshape", {"t", "back"}, {"y"}, {}, "to4d");
  s.output("y");
  CHECK(run_network(fused_network(s), {0, 1, 2, 3, 4, 5}) == std::vector<float>{0, 3, 1, 4, 2, 5});
}
