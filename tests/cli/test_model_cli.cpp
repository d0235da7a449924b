/// \file `show --model` and `run --model`: a whole network from an ONNX file, its plan printed,
/// run with its input and output as .npy files, refusals exact.
#include <catch2/catch.hpp>

#include <filesystem>
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

/// The classifier head after tensor `from`: global average pool, flatten, a 5 -> 3 Gemm.
OnnxBuilder& with_head(OnnxBuilder& b, const std::string& from) {
  return b.global_avg_pool("gap", from, "f").flatten("fl", "f", "g").gemm("fc", "g", "y", 5, 3).output("y");
}

/// A residual block with a classifier, batch 2, odd sizes.
OnnxBuilder small_net() {
  OnnxBuilder b;
  b.input("x", {2, 5, 9, 7})
      .conv("c1", "x", "a", 5, 5, 3, 3, {1, 1}, {1, 1, 1, 1})
      .batch_norm("bn", "a", "b", 5)
      .relu("r1", "b", "c")
      .add("add", "c", "x", "d")
      .max_pool("mp", "d", "e", {2, 2}, {2, 2}, {0, 0, 0, 0}, 1);
  return with_head(b, "e");
}

/// The same with its tensors between kernels kept blocked: conv -> conv adding the input as its
/// residual -> max pool (ceil mode), then the same head.
OnnxBuilder blocked_net() {
  OnnxBuilder b;
  b.input("x", {2, 5, 9, 7})
      .conv("c1", "x", "a", 5, 8, 3, 3, {1, 1}, {1, 1, 1, 1})
      .batch_norm("bn", "a", "b", 8)
      .relu("r1", "b", "c")
      .conv("c2", "c", "d", 8, 5, 1, 1)
      .add("add", "d", "x", "e")
      .max_pool("mp", "e", "e2", {2, 2}, {2, 2}, {0, 0, 0, 0}, 1);
  return with_head(b, "e2");
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

namespace {

/// Reads NET.weights and the input, runs the library at 1 and 2 threads (with a workspace and
/// with NULL), writes the output; exit codes say which step failed.
const char* const kNetDriver = R"(#include <stdio.h>
#include <stdlib.h>
#include "net.h"
static float* read_floats(const char* path, long n) {
  FILE* f = fopen(path, "rb");
  float* p = malloc(4 * (n > 0 ? n : 1));
  if (!f || !p || fread(p, 4, (size_t)n, f) != (size_t)n) exit(90);
  fclose(f);
  return p;
}
int main(int argc, char** argv) {
  (void)argc;
  const int embedded = argv[1][0] == '-';
  if (!embedded && net_init(NULL) != 4) return 91;
  float* y = calloc(NET_OUTPUT_ELEMENTS, 4);
  if (net_run(y, y, NULL) != 3) return 92;
  float* w = embedded ? NULL : read_floats(argv[1], (long)net_weights_count());
  float* x = read_floats(argv[2], NET_INPUT_ELEMENTS);
  if (net_init(w) != 0) return 93;
  void* ws = aligned_alloc(64, (size_t)net_workspace_size());
  convtune_set_num_threads(2);
  if (net_run(x, y, ws) != 0) return 94;
  convtune_set_num_threads(1);
  if (net_run(x, y, NULL) != 0) return 95;
  FILE* o = fopen(argv[3], "wb");
  if (!o || fwrite(y, 4, NET_OUTPUT_ELEMENTS, o) != NET_OUTPUT_ELEMENTS) return 96;
  fclose(o);
  net_release();
  free(ws);
  free(x);
  free(w);
  free(y);
  return 0;
}
)";

} // namespace

TEST_CASE("compile --model writes a library and header a C program runs to run --model's output", "[cli][network][aot]") {
  TempPath dir("netaot", "");
  std::filesystem::create_directories(dir.str());
  const std::string d = dir.str() + "/";
  const OnnxBuilder b = blocked_net();
  b.save(d + "m.onnx");
  std::vector<float> x(2 * 5 * 9 * 7);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 29 % 17) - 8) / 4;
  write_bytes(d + "x.npy", npy_bytes({2, 5, 9, 7}, x.data()));
  write_bytes(d + "x.bin", std::string(reinterpret_cast<const char*>(x.data()), 4 * x.size()));
  const nlohmann::json ran = parse_stdout(run_convtune({"run", "--model", d + "m.onnx", "--input", d + "x.npy", "--output", d + "y.npy",
                                                        "--repeat", "1", "--min-repeat-ms", "1", "--json"}));
  // The convolutions' outputs, in the next conv's and the max pool's packing: the library keeps them so too.
  CHECK(ran["blocked_tensors"] == 2);
  const FloatArray expected = read_float_file(d + "y.npy", "y");
  { std::ofstream(d + "driver.c") << kNetDriver; }
  for (const bool embed : {false, true}) {
    std::vector<std::string> args = {"compile", "--model", d + "m.onnx", "--name", "net", "-o", d + "out", "--db", d + "none.jsonl"};
    if (embed) args.push_back("--embed-weights");
    const ToolRun compiled = run_convtune(args);
    INFO(compiled.err);
    REQUIRE(compiled.exit_code == 0);
    REQUIRE(shell("cc -std=c11 -O2 -Wall -Wextra -Werror -I" + shell_quoted(d + "out") + " " + shell_quoted(d + "driver.c") + " -L" +
                  shell_quoted(d + "out") + " -lnet " + shell_quoted(CONVTUNE_RT_LIBRARY) + " -lpthread -lm " CONVTUNE_SANITIZE_LINK " -o " +
                  shell_quoted(d + "app")) == 0);
    REQUIRE(shell("echo '#include \"net.h\"' | cc -std=c99 -pedantic -Werror -fsyntax-only -I" + shell_quoted(d + "out") + " -x c -") == 0);
    REQUIRE(shell(shell_quoted(d + "app") + " " + (embed ? std::string("-") : shell_quoted(d + "out/net.weights")) + " " +
                  shell_quoted(d + "x.bin") + " " + shell_quoted(d + "y.bin")) == 0);
    const FloatArray got = read_float_file(d + "y.bin", "y.bin");
    REQUIRE(got.values == expected.values);  // the same kernels and calls as the JIT: bit for bit
  }
}

TEST_CASE("tune --model tunes each distinct layer once, and run --model then uses the tuned configs", "[cli][network][tune]") {
  TempPath model("net", ".onnx"), db("netdb", ".jsonl");
  // Two identical convolutions (tuned once) and a pooling layer.
  OnnxBuilder b;
  b.input("x", {1, 8, 10, 10})
      .conv("c1", "x", "a", 8, 8, 3, 3, {1, 1}, {1, 1, 1, 1})
      .relu("r1", "a", "b")
      .conv("c2", "b", "c", 8, 8, 3, 3, {1, 1}, {1, 1, 1, 1})
      .relu("r2", "c", "d")
      .max_pool("mp", "d", "y", {2, 2}, {2, 2}, {0, 0, 0, 0})
      .output("y");
  b.save(model.str());
  const nlohmann::json tuned = parse_stdout(run_convtune({"tune", "--model", model.str(), "--trials", "4", "--db", db.str(),
                                                           "--repeat", "1", "--min-repeat-ms", "1", "--json"}));
  REQUIRE(tuned.at("layers").size() == 2);  // the conv workload and the pool, 2 trials each
  for (const nlohmann::json& layer : tuned["layers"]) CHECK(layer.at("trials").get<int>() == 2);
  // Without timing in the network, each layer runs the database's best.
  const nlohmann::json ran = parse_stdout(run_convtune({"run", "--model", model.str(), "--db", db.str(), "--select-runs", "0",
                                                        "--repeat", "1", "--min-repeat-ms", "1", "--json"}));
  CHECK(ran["ok"] == true);
  CHECK(ran["tuned_layers"] == 3);
  CHECK(ran["default_layers"] == 0);
  // The two convolutions' kernels differ in where they store: c2 in the pool's packing (its
  // exterior -inf), c1 in c2's or dense, as the config tuning found best packs c2's input or
  // not (im2col does not): which one is the timing's to decide.
  CHECK(ran["kernels"] == 3);
  const nlohmann::json& layers = ran.at("layers");
  REQUIRE(layers.size() == 3);
  CHECK(layers[1]["output_layout"].get<std::string>().rfind("NCHW", 0) == 0);
  CHECK(layers[1]["output_layout"] != "NCHW");
  CHECK(ran["blocked_tensors"] == (layers[0]["output_layout"] == "NCHW" ? 1 : 2));
  CHECK(ran["selected_in_network"] == 0);
  // With it, each layer runs the fastest of its candidates there (tuned or default: timing decides).
  const nlohmann::json selected = parse_stdout(run_convtune({"run", "--model", model.str(), "--db", db.str(), "--select-runs", "2",
                                                             "--repeat", "1", "--min-repeat-ms", "1", "--json"}));
  CHECK(selected["ok"] == true);
  CHECK(selected["tuned_layers"].get<int>() + selected["default_layers"].get<int>() == 3);
  require_user_error({"tune", "--model", model.str(), "--suite", "resnet18"}, "convtune: error: tune needs exactly one of --workload, --suite and --model");
}
