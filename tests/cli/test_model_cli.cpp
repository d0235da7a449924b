/// \file `show --model` and `run --model`: a whole network from an ONNX file, its plan printed,
/// run with its input and output as .npy files, refusals exact.
#include <catch2/catch.hpp>

#include <fstream>

#include "ir/npy.h"
#include "runtime/network_reference.h"
#include "compiler/onnx_import.h"
#include "tests/network/onnx_builder.h"
#include "tests/test_support.h"

using namespace convtune;
using namespace convtune::testing;
using convtune::test::OnnxBuilder;

namespace {

/// A residual block with a classifier, batch 2, odd sizes.
OnnxBuilder small_net() {
  OnnxBuilder b;
  b.input("x", {2, 5, 9, 7})
      .conv("c1", "x", "a", 5, 5, 3, 3, {1, 1}, {1, 1, 1, 1})
      .batch_norm("bn", "a", "b", 5)
      .relu("r1", "b", "c")
      .add("add", "c", "x", "d")
      .max_pool("mp", "d", "e", {2, 2}, {2, 2}, {0, 0, 0, 0}, 1)
      .global_avg_pool("gap", "e", "f")
      .flatten("fl", "f", "g")
      .gemm("fc", "g", "y", 5, 3)
      .output("y");
  return b;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

} // namespace

TEST_CASE("show --model prints the layers, their fusions and the workspace plan", "[cli][network]") {
  TempPath model("net", ".onnx");
  small_net().save(model.str());
  const nlohmann::json j = parse_stdout(run_convtune({"show", "--model", model.str(), "--json"}));
  REQUIRE(j.at("layers").size() == 6);
  CHECK(j["layers"][0]["kind"] == "conv");
  CHECK(j["layers"][0]["nodes"] == nlohmann::json({"Conv c1", "BatchNormalization bn", "Relu r1"}));
  CHECK(j["layers"][0]["workload"] == "n=2,c=5,h=9,w=7,k=5,r=3,s=3,stride=1,pad=1,epilogue=bias_relu");
  CHECK(j["layers"][1]["kind"] == "elementwise");
  CHECK(j["output"]["shape"] == nlohmann::json({2, 3}));
  CHECK(j["workspace_bytes"].get<int64_t>() < j["intermediates_bytes"].get<int64_t>());
  CHECK(j["workspace_bytes"].get<int64_t>() >= j["peak_live_bytes"].get<int64_t>());

  const ToolRun text = run_convtune({"show", "--model", model.str()});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Matchers::Contains("6 layers from 8 nodes"));
  CHECK_THAT(text.out, Catch::Matchers::Contains("Conv+BatchNormalization+Relu"));
}

TEST_CASE("run --model reads its input from .npy and writes the output the reference computes", "[cli][network]") {
  TempPath model("net", ".onnx"), in("x", ".npy"), out("y", ".npy");
  const OnnxBuilder b = small_net();
  b.save(model.str());
  const Network net = import_onnx_bytes(b.bytes(), "m");
  std::vector<float> x(2 * 5 * 9 * 7);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 37 % 23) - 11) / 8;
  write_bytes(in.str(), npy_bytes({2, 5, 9, 7}, x.data()));

  const nlohmann::json j = parse_stdout(run_convtune({"run", "--model", model.str(), "--input", in.str(), "--output", out.str(),
                                                      "--repeat", "1", "--min-repeat-ms", "1", "--json"}));
  CHECK(j["ok"] == true);
  CHECK(j["layers"].size() == 6);
  CHECK(j["default_layers"] == 3);
  const FloatArray y = read_float_file(out.str(), "output");
  REQUIRE(y.npy);
  REQUIRE(y.shape == std::vector<int64_t>{2, 3});
  const std::vector<double> expected = reference_network(net, x)[net.output];
  CHECK(relative_error(y.values.data(), expected) < 1e-5);
}

TEST_CASE("run --model and show --model refuse bad models and inputs with one line", "[cli][network][refusals]") {
  TempPath model("net", ".onnx"), bad("bad", ".onnx"), in("x", ".npy");
  small_net().save(model.str());
  write_bytes(bad.str(), "not a model");
  require_user_error({"show", "--model", bad.str()}, "convtune: error: model '" + bad.str() + "': not an ONNX model (its protobuf does not parse; truncated?)");
  require_user_error({"run", "--model", "/nonexistent.onnx"}, "convtune: error: --model '/nonexistent.onnx' cannot be read");
  const std::vector<float> x(10, 0.0f);
  write_bytes(in.str(), npy_bytes({10}, x.data()));
  require_user_error({"run", "--model", model.str(), "--input", in.str()},
                     "convtune: error: --input '" + in.str() + "': its shape (10,) is not the model's input shape 2x5x9x7");
}
