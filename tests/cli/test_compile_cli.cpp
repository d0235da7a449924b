/// \file `convtune compile`: layers compiled ahead of time, linked into a C program with the
/// system C compiler and libconvtune_rt.a (no C++ runtime), run, and checked against the
/// reference through both entries at 1 and 2 threads; cross-target assembly; the refusals.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/workload.h"
#include "targets/target.h"
#include "runtime/convtune_rt.h"
#include "runtime/reference_conv.h"
#include "runtime/tensor.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::testing::read_file;
using convtune::testing::require_user_error;
using convtune::testing::run_convtune;
using convtune::testing::shell_quoted;
using convtune::testing::shell;
using convtune::testing::TempPath;

namespace {

/// Reads the input and weights from files, runs `layer` through its allocating entry, through
/// layer_pack_weights + layer_run (packed weights, its own workspace) and, where the kernel has
/// one, through layer_run_blocked (the input and output converted to and from the kernel's own
/// layouts here, from the header's constants alone), and writes the three outputs (without a
/// blocked entry, layer_run's output stands for the third).
const char* kDriver = R"(#include <stdio.h>
#include <stdlib.h>
#include "layer.h"

static int load(const char* path, float* data, size_t n) {
  FILE* f = fopen(path, "rb");
  if (!f) return 0;
  size_t got = fread(data, sizeof(float), n, f);
  fclose(f);
  return got == n;
}
static int save(const char* path, const float* data, size_t n) {
  FILE* f = fopen(path, "wb");
  if (!f) return 0;
  size_t put = fwrite(data, sizeof(float), n, f);
  fclose(f);
  return put == n;
}
static size_t rounded(size_t bytes) { return (bytes + LAYER_WORKSPACE_ALIGN - 1) / LAYER_WORKSPACE_ALIGN * LAYER_WORKSPACE_ALIGN; }
int main(int argc, char** argv) {
  /* threads input weights plain_out run_out blocked_out n c h w k p q */
  if (argc != 14) return 10;
  const long N = atol(argv[7]), C = atol(argv[8]), H = atol(argv[9]), W = atol(argv[10]), K = atol(argv[11]), P = atol(argv[12]),
             Q = atol(argv[13]);
  (void)N, (void)C, (void)H, (void)W, (void)K, (void)P, (void)Q; /* a layout kept plain needs none of them */
  float* input = malloc(sizeof(float) * LAYER_INPUT_ELEMENTS);
  float* weights = malloc(sizeof(float) * LAYER_WEIGHTS_ELEMENTS);
  float* plain = malloc(sizeof(float) * LAYER_OUTPUT_ELEMENTS);
  float* with_workspace = malloc(sizeof(float) * LAYER_OUTPUT_ELEMENTS);
  if (!load(argv[2], input, LAYER_INPUT_ELEMENTS) || !load(argv[3], weights, LAYER_WEIGHTS_ELEMENTS)) return 11;
  layer_set_threads(atoi(argv[1]));
  if (layer(input, weights, plain) != LAYER_OK) return 12;
  size_t bytes = rounded(layer_workspace_size());
  void* workspace = bytes ? aligned_alloc(LAYER_WORKSPACE_ALIGN, bytes) : NULL;
  float* packed = aligned_alloc(LAYER_WORKSPACE_ALIGN, rounded(layer_packed_weights_size()));
  layer_pack_weights(weights, packed);
  /* The plain weights are not needed any more: a kernel that read them would fail. */
  for (size_t i = 0; i < LAYER_WEIGHTS_ELEMENTS; ++i) weights[i] = 1e30f;
  if (layer_run(input, packed, with_workspace, workspace) != LAYER_OK) return 13;
  float* blocked_plain = malloc(sizeof(float) * LAYER_OUTPUT_ELEMENTS);
#if defined(LAYER_INPUT_BLOCKED_ELEMENTS) || defined(LAYER_OUTPUT_BLOCKED_ELEMENTS)
#ifdef LAYER_INPUT_BLOCKED_ELEMENTS
  float* input_blocked = aligned_alloc(LAYER_WORKSPACE_ALIGN, rounded(sizeof(float) * LAYER_INPUT_BLOCKED_ELEMENTS));
  for (size_t i = 0; i < LAYER_INPUT_BLOCKED_ELEMENTS; ++i) input_blocked[i] = LAYER_INPUT_EXTERIOR;
  for (long n = 0; n < N; ++n)
    for (long c = 0; c < C; ++c)
      for (long h = 0; h < H; ++h)
        for (long w = 0; w < W; ++w)
          input_blocked[((((n + LAYER_INPUT_OFFSET_N) * LAYER_INPUT_BLOCKED_EXTENT_1 + c / LAYER_INPUT_BLOCK_C) * LAYER_INPUT_BLOCKED_EXTENT_2 +
                          h + LAYER_INPUT_OFFSET_H) * LAYER_INPUT_BLOCKED_EXTENT_3 + w + LAYER_INPUT_OFFSET_W) * LAYER_INPUT_BLOCKED_EXTENT_4 +
                        c % LAYER_INPUT_BLOCK_C] = input[((n * C + c) * H + h) * W + w];
#else
  const float* input_blocked = input;
#endif
#ifdef LAYER_OUTPUT_BLOCKED_ELEMENTS
  float* output_blocked = aligned_alloc(LAYER_WORKSPACE_ALIGN, rounded(sizeof(float) * LAYER_OUTPUT_BLOCKED_ELEMENTS));
#else
  float* output_blocked = blocked_plain;
#endif
  if (layer_run_blocked(input_blocked, packed, output_blocked, workspace) != LAYER_OK) return 15;
#ifdef LAYER_OUTPUT_BLOCKED_ELEMENTS
  for (long n = 0; n < N; ++n)
    for (long k = 0; k < K; ++k)
      for (long p = 0; p < P; ++p)
        for (long q = 0; q < Q; ++q)
          blocked_plain[((n * K + k) * P + p) * Q + q] =
              output_blocked[((((n + LAYER_OUTPUT_OFFSET_N) * LAYER_OUTPUT_BLOCKED_EXTENT_1 + k / LAYER_OUTPUT_BLOCK_K) *
                                   LAYER_OUTPUT_BLOCKED_EXTENT_2 + p + LAYER_OUTPUT_OFFSET_P) * LAYER_OUTPUT_BLOCKED_EXTENT_3 +
                                  q + LAYER_OUTPUT_OFFSET_Q) * LAYER_OUTPUT_BLOCKED_EXTENT_4 + k % LAYER_OUTPUT_BLOCK_K];
  free(output_blocked);
#endif
#ifdef LAYER_INPUT_BLOCKED_ELEMENTS
  free(input_blocked);
#endif
#else
  for (size_t i = 0; i < LAYER_OUTPUT_ELEMENTS; ++i) blocked_plain[i] = with_workspace[i];
#endif
  free(packed);
  if (!save(argv[4], plain, LAYER_OUTPUT_ELEMENTS) || !save(argv[5], with_workspace, LAYER_OUTPUT_ELEMENTS) ||
      !save(argv[6], blocked_plain, LAYER_OUTPUT_ELEMENTS))
    return 14;
  free(blocked_plain);
  free(workspace);
  free(input);
  free(weights);
  free(plain);
  free(with_workspace);
  return 0;
}
)";

void write_floats(const std::string& path, const Tensor& t) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(t.data()), std::streamsize(t.size() * sizeof(float)));
}

Tensor read_floats(const std::string& path, int64_t n) {
  Tensor t(n);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(t.data()), std::streamsize(n * sizeof(float)));
  REQUIRE(in.gcount() == std::streamsize(n * sizeof(float)));
  return t;
}

/// Compiles `spec`, builds the driver against it with `cc`, runs it at 1 and 2 threads and
/// checks the three outputs against the reference. `blocked`: the parameters the header must
/// give layer_run_blocked in blocks (empty: no such entry). `db`: the database compile reads
/// (none by default); `winograd_m`: a Winograd kernel's tile side, whose error bound holds.
void compile_link_run(const std::string& spec, const std::vector<std::string>& blocked, const std::vector<std::string>& extra = {},
                      const std::string& db = "", int winograd_m = 0) {
  const Workload wl = parse_workload(spec);
  TempPath dir("aot", "");
  std::filesystem::create_directories(dir.str());
  const std::string d = dir.str() + "/";
  std::vector<std::string> args = {"compile", "--workload", spec, "--name", "layer", "-o", d + "layer.o", "--header", d + "layer.h",
                                   "--db", db.empty() ? d + "none.jsonl" : db};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto compiled = run_convtune(args);
  INFO(spec << "\n" << compiled.err);
  REQUIRE(compiled.exit_code == 0);
  const std::string header = read_file(d + "layer.h");
  CHECK((header.find("int layer_run_blocked(") != std::string::npos) == !blocked.empty());
  for (const char* param : {"INPUT", "OUTPUT"}) {
    const bool expected = std::count(blocked.begin(), blocked.end(), std::string(param)) > 0;
    CHECK((header.find(std::string("#define LAYER_") + param + "_BLOCKED_ELEMENTS") != std::string::npos) == expected);
  }
  { std::ofstream(d + "driver.c") << kDriver; }
  // C11 (aligned_alloc) with every warning an error; the header must also be strict C99.
  const std::string cc = "cc -std=c11 -O2 -Wall -Wextra -Werror -I" + shell_quoted(d) + " " + shell_quoted(d + "driver.c") + " " +
                         shell_quoted(d + "layer.o") + " " + shell_quoted(CONVTUNE_RT_LIBRARY) + " -lpthread " CONVTUNE_SANITIZE_LINK " -o " + shell_quoted(d + "app");
  REQUIRE(shell(cc) == 0);
  REQUIRE(shell("echo '#include \"layer.h\"' | cc -std=c99 -pedantic -Werror -fsyntax-only -I" + shell_quoted(d) + " -x c -") == 0);
  REQUIRE(shell("echo '#include \"layer.h\"' | c++ -std=c++17 -Werror -fsyntax-only -I" + shell_quoted(d) + " -x c++ -") == 0);

  Tensor input(wl.input_elems()), weights(wl.weight_elems());
  input.fill_random(3);
  weights.fill_random(4);
  write_floats(d + "input.bin", input);
  write_floats(d + "weights.bin", weights);
  const auto reference = winograd_m ? reference_winograd(wl, input, weights, winograd_m) : reference_conv(wl, input, weights);
  for (int threads : {1, 2}) {
    INFO(threads << " thread(s)");
    std::string sizes;
    for (int64_t v : {wl.n, wl.c, wl.h, wl.w, wl.k, wl.p(), wl.q()}) sizes += " " + std::to_string(v);
    REQUIRE(shell(shell_quoted(d + "app") + " " + std::to_string(threads) + " " + shell_quoted(d + "input.bin") + " " +
                  shell_quoted(d + "weights.bin") + " " + shell_quoted(d + "plain.bin") + " " + shell_quoted(d + "run.bin") + " " +
                  shell_quoted(d + "blocked.bin") + sizes) == 0);
    for (const char* which : {"plain.bin", "run.bin", "blocked.bin"}) {
      const Agreement a = check_against_reference(wl, reference, read_floats(d + which, wl.output_elems()));
      INFO(which << ": max rel err " << a.max_rel_err << ", bound " << a.tolerance);
      CHECK(a.ok);
    }
  }
}

} // namespace

TEST_CASE("compile: a layer's object links into a C program with libconvtune_rt and agrees with the reference", "[cli][compile]") {
  SECTION("plain 3x3") { compile_link_run("n=1,c=32,h=14,w=14,k=48,r=3,s=3,pad=1", {"INPUT", "OUTPUT"}); }
  SECTION("strided with asymmetric padding, batch 2") { compile_link_run("n=2,c=12,h=15,w=13,k=20,r=3,s=3,stride=2,pad=1:0:1:2", {"INPUT", "OUTPUT"}); }
  SECTION("depthwise") { compile_link_run("n=1,c=40,h=12,w=12,k=40,r=3,s=3,pad=1,groups=40", {"INPUT", "OUTPUT"}); }
  SECTION("grouped with odd channels") { compile_link_run("n=1,c=15,h=9,w=11,k=21,r=3,s=3,pad=1,groups=3", {"INPUT", "OUTPUT"}); }
  SECTION("im2col + GEMM, 1x1: the gather is no layout, only the output is blocked") { compile_link_run("n=1,c=24,h=7,w=7,k=36,r=1,s=1", {"OUTPUT"}, {"--schedule", "im2col_gemm"}); }
  SECTION("naive: no packing, the packed weights are a copy") { compile_link_run("n=1,c=5,h=6,w=7,k=3,r=3,s=2,pad=1", {}, {"--schedule", "naive"}); }
}

TEST_CASE("compile: a Winograd config tuned into the database, its weights' transform as NAME_pack_weights", "[cli][compile]") {
  TempPath dir("aot_winograd", "");
  std::filesystem::create_directories(dir.str());
  const std::string spec = "n=1,c=20,h=10,w=9,k=24,r=3,s=3,pad=1", db = dir.str() + "/tuned.jsonl";
  REQUIRE(run_convtune({"tune", "--workload", spec, "--template", "winograd", "--trials", "2", "--db", db}).exit_code == 0);
  int tile = 0;
  double best = 0;
  std::ifstream lines(db);
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json r = nlohmann::json::parse(line);
    if (r.value("ok", false) && r.at("gflops").get<double>() > best) {
      best = r.at("gflops").get<double>();
      tile = r.at("config").at("tile").get<int>();
    }
  }
  REQUIRE(tile > 0);
  INFO("tile " << tile);
  compile_link_run(spec, {"INPUT", "OUTPUT"}, {}, db, tile);
}

TEST_CASE("compile: the object is built for the target named, not the host", "[cli][compile]") {
  TempPath dir("aot_asm", "");
  std::filesystem::create_directories(dir.str());
  const std::string spec = "n=1,c=32,h=8,w=8,k=32,r=3,s=3,pad=1";
  for (const auto& [target, zmm] : {std::pair<std::string, bool>{"x86-64-v4", true}, {"x86-64-v3", false}}) {
    const std::string out = dir.str() + "/" + target + ".s";
    const auto run = run_convtune({"compile", "--workload", spec, "--name", "k", "--emit", "asm", "-o", out, "--target", target,
                                   "--db", dir.str() + "/none.jsonl"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    const std::string assembly = read_file(out);
    CHECK(assembly.find("vfmadd") != std::string::npos);
    CHECK((assembly.find("%zmm") != std::string::npos) == zmm);
  }
  const std::string ll = dir.str() + "/k.ll";
  REQUIRE(run_convtune({"compile", "--workload", spec, "--name", "k", "--emit", "llvm", "-o", ll, "--db", dir.str() + "/none.jsonl"}).exit_code == 0);
  CHECK(read_file(ll).find("i32 @k_run(ptr noalias %input, ptr noalias %packed_weights, ptr noalias %output, ptr %workspace)") != std::string::npos);
}

TEST_CASE("compile --all: three tuned workloads in one static library, one header, one manifest, one C program", "[cli][compile]") {
  TempPath dir("aot_all", "");
  std::filesystem::create_directories(dir.str());
  const std::string d = dir.str() + "/", db = d + "tuned.jsonl";
  const std::vector<std::string> specs = {"n=1,c=8,h=9,w=9,k=16,r=3,s=3,pad=1", "n=1,c=12,h=7,w=7,k=12,r=3,s=3,pad=1,groups=12",
                                          "n=2,c=6,h=11,w=10,k=10,r=1,s=1,stride=2"};
  for (const std::string& spec : specs) REQUIRE(run_convtune({"tune", "--workload", spec, "--trials", "2", "--db", db}).exit_code == 0);
  const auto compiled = run_convtune({"compile", "--all", "--db", db, "-o", d + "lib"});
  INFO(compiled.err);
  REQUIRE(compiled.exit_code == 0);
  const nlohmann::json manifest = nlohmann::json::parse(read_file(d + "lib/convtune_layers.json"));
  REQUIRE(manifest.size() == 3);

  // The driver runs each kernel on its own files: NAME(input, weights, output).
  std::string driver = "#include <stdio.h>\n#include <stdlib.h>\n#include \"convtune_layers.h\"\n"
                       "static float* load(const char* p, size_t n) { float* d = malloc(n * sizeof(float)); FILE* f = fopen(p, \"rb\");\n"
                       "  if (!f || fread(d, sizeof(float), n, f) != n) exit(20);\n  fclose(f);\n  return d;\n}\n"
                       "static void save(const char* p, const float* d, size_t n) { FILE* f = fopen(p, \"wb\");\n"
                       "  if (!f || fwrite(d, sizeof(float), n, f) != n) exit(21);\n  fclose(f);\n}\nint main(void) {\n";
  for (size_t i = 0; i < specs.size(); ++i) {
    const Workload wl = parse_workload(specs[i]);
    const std::string name = wl.key(), i_s = std::to_string(i);
    CHECK(manifest[i]["name"] == name);
    driver += "  { float* out = malloc(" + std::to_string(wl.output_elems()) + " * sizeof(float));\n"
              "    float* in = load(\"" + d + "in" + i_s + "\", " + std::to_string(wl.input_elems()) + ");\n"
              "    float* w = load(\"" + d + "w" + i_s + "\", " + std::to_string(wl.weight_elems()) + ");\n"
              "    if (" + name + "(in, w, out) != 0) return 1;\n    save(\"" + d + "out" + i_s + "\", out, " +
              std::to_string(wl.output_elems()) + ");\n    free(in);\n    free(w);\n    free(out);\n  }\n";
    Tensor input(wl.input_elems()), weights(wl.weight_elems());
    input.fill_random(30 + i);
    weights.fill_random(40 + i);
    write_floats(d + "in" + i_s, input);
    write_floats(d + "w" + i_s, weights);
  }
  driver += "  return 0;\n}\n";
  { std::ofstream(d + "driver.c") << driver; }
  REQUIRE(shell("cc -std=c11 -Wall -Werror -I" + shell_quoted(d + "lib") + " " + shell_quoted(d + "driver.c") + " -L" + shell_quoted(d + "lib") +
                " -lconvtune_layers " + shell_quoted(CONVTUNE_RT_LIBRARY) + " -lpthread " CONVTUNE_SANITIZE_LINK " -o " + shell_quoted(d + "app")) == 0);
  REQUIRE(shell(shell_quoted(d + "app")) == 0);
  for (size_t i = 0; i < specs.size(); ++i) {
    const Workload wl = parse_workload(specs[i]);
    Tensor input(wl.input_elems()), weights(wl.weight_elems());
    input.fill_random(30 + i);
    weights.fill_random(40 + i);
    const Agreement a = check_against_reference(wl, reference_conv(wl, input, weights), read_floats(d + "out" + std::to_string(i), wl.output_elems()));
    INFO(specs[i] << ": max rel err " << a.max_rel_err);
    CHECK(a.ok);
  }
  // Refusals: a database with nothing for this target, and one-workload options with --all.
  require_user_error({"compile", "--all", "--db", db, "-o", d + "lib2", "--threads", "2"},
                     "convtune: error: --all: no tuned workload for " + manifest[0]["target"].get<std::string>() + "/t2 in '" + db + "'");
  require_user_error({"compile", "--all", "--db", db, "-o", d + "lib2", "--name", "k"},
                     "convtune: error: --all compiles every tuned workload; --name is for one");
}

TEST_CASE("compile: an object for CPU features this machine lacks refuses to run, with a message, not SIGILL", "[cli][compile]") {
  // A target with features this host lacks that the runtime checks, whichever this host is.
  std::string target;
  // (An Intel host lacks AMD's clzero and sse4a; an AMD one lacks Intel's AMX.)
  for (const char* candidate : {"x86-64-v3", "x86-64-v4", "znver4", "sapphirerapids", "graniterapids"}) {
    if (!convtune_cpu_supports("probe", parse_target(candidate).features.c_str())) {
      target = candidate;
      break;
    }
  }
  if (target.empty()) {
    WARN("this host has every feature of the candidate targets; the refusal is not exercised here");
    return;
  }
  TempPath dir("aot_cpu", "");
  std::filesystem::create_directories(dir.str());
  const std::string d = dir.str() + "/";
  const auto compiled = run_convtune({"compile", "--workload", "n=1,c=16,h=8,w=8,k=16,r=3,s=3,pad=1", "--name", "layer", "-o", d + "layer.o",
                                      "--header", d + "layer.h", "--target", target, "--db", d + "none.jsonl"});
  REQUIRE(compiled.exit_code == 0);
  { std::ofstream(d + "driver.c") << "#include <stdio.h>\n#include <stdlib.h>\n#include \"layer.h\"\n"
                                      "int main(void) {\n"
                                      "  float* in = calloc(LAYER_INPUT_ELEMENTS, sizeof(float));\n"
                                      "  float* w = calloc(LAYER_WEIGHTS_ELEMENTS, sizeof(float));\n"
                                      "  float* out = calloc(LAYER_OUTPUT_ELEMENTS, sizeof(float));\n"
                                      "  int first = layer(in, w, out), second = layer(in, w, out);\n"
                                      "  printf(\"%d %d\\n\", first, second);\n"
                                      "  free(in);\n  free(w);\n  free(out);\n"
                                      "  return first == LAYER_CPU_UNSUPPORTED && second == LAYER_CPU_UNSUPPORTED ? 0 : 1;\n}\n"; }
  REQUIRE(shell("cc -std=c11 -Wall -Werror -I" + shell_quoted(d) + " " + shell_quoted(d + "driver.c") + " " + shell_quoted(d + "layer.o") + " " +
                shell_quoted(CONVTUNE_RT_LIBRARY) + " -lpthread " CONVTUNE_SANITIZE_LINK " -o " + shell_quoted(d + "app")) == 0);
  REQUIRE(shell(shell_quoted(d + "app") + " > " + shell_quoted(d + "out.txt") + " 2> " + shell_quoted(d + "err.txt")) == 0);
  CHECK(read_file(d + "out.txt") == "2 2\n");
  const std::string err = read_file(d + "err.txt");
  INFO(target << ": " << err);
  // Said once (the answer is remembered), naming the kernel and what is missing.
  CHECK(err.rfind("convtune: kernel layer was compiled for CPU features this machine lacks: ", 0) == 0);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
}

TEST_CASE("compile: a pooling kernel has no weight entries", "[cli][compile]") {
  TempPath dir("aot_pool", "");
  std::filesystem::create_directories(dir.str());
  const auto run = run_convtune({"compile", "--workload", "n=1,c=16,h=9,w=9,r=3,s=3,stride=2,pad=1,op=maxpool", "--name", "pool",
                                 "-o", dir.str() + "/pool.o", "--header", dir.str() + "/pool.h", "--db", dir.str() + "/none.jsonl"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const std::string header = read_file(dir.str() + "/pool.h");
  CHECK(header.find("int pool(const float* input, float* output);") != std::string::npos);
  CHECK(header.find("int pool_run(const float* input, float* output, void* workspace);") != std::string::npos);
  CHECK(header.find("pack_weights") == std::string::npos);
}

TEST_CASE("compile: without a tuned record it compiles the default and says so", "[cli][compile]") {
  TempPath dir("aot_default", "");
  std::filesystem::create_directories(dir.str());
  const auto run = run_convtune({"compile", "--workload", "n=1,c=8,h=6,w=6,k=8,r=3,s=3,pad=1", "--name", "k", "-o", dir.str() + "/k.o",
                                 "--db", dir.str() + "/empty.jsonl"});
  CHECK(run.exit_code == 0);
  CHECK(run.err.rfind("convtune: warning: no tuned record for conv2d_f32_NCHW_n1_c8_h6_w6_k8_r3_s3_st1x1_pad1x1x1x1_dil1x1_g1 on ", 0) == 0);
  CHECK(run.err.find("; compiling the default config\n") != std::string::npos);
  CHECK(std::filesystem::exists(dir.str() + "/k.o"));
}

TEST_CASE("compile refuses a bad name, a missing output, an unknown emit kind and an unwritable path, leaving nothing", "[cli][compile][refusals]") {
  TempPath dir("aot_refusals", "");
  std::filesystem::create_directories(dir.str());
  const std::string o = dir.str() + "/k.o", spec = "n=1,c=4,h=5,w=5,k=4,r=3,s=3";
  require_user_error({"compile", "--workload", spec, "--name", "2fast", "-o", o}, "convtune: error: --name '2fast' is not a C identifier");
  require_user_error({"compile", "--workload", spec, "--name", "int", "-o", o}, "convtune: error: --name 'int' is not a C identifier");
  require_user_error({"compile", "--workload", spec, "--name", "k"}, "convtune: error: missing option '--output' for 'convtune compile' (see convtune compile --help)");
  require_user_error({"compile", "--workload", spec, "--name", "k", "-o", o, "--emit", "exe"},
                     "convtune: error: --emit 'exe' is not one of obj, asm, llvm, ptx");
  const auto run = run_convtune({"compile", "--workload", spec, "--name", "k", "-o", o, "--header", dir.str() + "/missing/k.h",
                                 "--schedule", "default"});
  CHECK(run.exit_code == 2);
  CHECK(run.err == "convtune: error: cannot write '" + dir.str() + "/missing/k.h'\n");
  CHECK(std::filesystem::is_empty(dir.str()));  // the object was not left behind either
}
