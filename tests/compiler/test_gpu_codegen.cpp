/// \file The GPU back end where there is no GPU: PTX of each GPU template's default and a seeded
/// sample of its configs across ResNet-18, MobileNet and odd shapes that ptxas accepts for sm_90
/// (an entry per stage, shared memory where staged, registers and shared memory within the
/// limits), the named refusals (shared memory over a block's limit, shared storage outside a
/// block or around a thread loop, a barrier some threads would miss), `compile --emit ptx` and
/// its launch file, and every GPU command's one-line refusal without a CUDA driver.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <random>
#include <regex>

#include <nlohmann/json.hpp>

#include "compiler/compile.h"
#include "schedules/schedule_template.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::testing::read_file;
using convtune::testing::require_user_error;
using convtune::testing::run_convtune;
using convtune::testing::shell_quoted;
using convtune::testing::TempPath;
using convtune::testing::var;
using Catch::Matchers::Message;

namespace {

const char* kPtxas = "/usr/local/cuda/bin/ptxas";

/// What ptxas said of a PTX file: its exit code, and per kernel (by name) the registers and
/// shared bytes.
struct PtxasReport {
  int exit_code = -1;
  std::string log;
  std::map<std::string, int> registers, shared_bytes;
};

PtxasReport ptxas(const std::string& ptx) {
  TempPath file("kernel", ".ptx"), log("ptxas", ".log");
  { std::ofstream(file.str()) << ptx; }
  PtxasReport r;
  r.exit_code = convtune::testing::shell(shell_quoted(kPtxas) + " -arch=sm_90 -v " + shell_quoted(file.str()) +
                                         " -o /dev/null >" + shell_quoted(log.str()) + " 2>&1");
  r.log = read_file(log.str());
  // ptxas -v: "Compiling entry function 'NAME'", then "Used N registers, ..., M bytes smem".
  const std::regex used(R"(Compiling entry function '(\w+)'[^]*?Used (\d+) registers([^\n]*))"), smem(R"((\d+) bytes smem)");
  for (std::sregex_iterator it(r.log.begin(), r.log.end(), used), end; it != end; ++it) {
    const std::string kernel = (*it)[1], rest = (*it)[3];
    r.registers[kernel] = std::stoi((*it)[2]);
    std::smatch m;
    r.shared_bytes[kernel] = std::regex_search(rest, m, smem) ? std::stoi(m[1]) : 0;
  }
  return r;
}

/// ResNet-18's and MobileNet's layer kinds, then odd ones: a depthwise layer with a channel
/// multiplier, strides and asymmetric pads at batch 2, a 1x1 image, asymmetric pads with
/// dilation and groups, channel counts no tile divides, an epilogue.
const char* kLayers[] = {
    "n=1,c=3,h=224,w=224,k=64,r=7,s=7,stride=2,pad=3",      // ResNet-18 conv1
    "n=1,c=64,h=56,w=56,k=64,r=3,s=3,pad=1",                // ResNet-18 conv2_x
    "n=1,c=128,h=28,w=28,k=256,r=1,s=1,stride=2",           // ResNet-18 downsample
    "n=1,c=512,h=7,w=7,k=512,r=3,s=3,pad=1",                // ResNet-18 conv5_x
    "n=1,c=128,h=56,w=56,k=128,r=3,s=3,pad=1,groups=128",   // MobileNet depthwise
    "n=2,c=20,h=7,w=9,k=40,r=5,s=3,stride=2,pad=2:1:0:1,groups=20",  // depthwise, multiplier 2
    "n=1,c=128,h=56,w=56,k=256,r=1,s=1",                    // MobileNet pointwise
    "n=1,c=5,h=1,w=1,k=7,r=1,s=1",
    "n=2,c=6,h=13,w=11,k=10,r=3,s=2,stride=2:1,pad=1:0:2:1,dilation=2:1,groups=2",
    "n=1,c=17,h=9,w=9,k=23,r=3,s=3,pad=1,epilogue=bias_relu",
};

} // namespace

TEST_CASE("every GPU template: the default and 4 sampled configs a layer compile to PTX that ptxas accepts for sm_90", "[gpu][ptx]") {
  if (!std::filesystem::exists(kPtxas)) {
    WARN(std::string("no ptxas at ") + kPtxas + " (the CUDA toolkit's)");  // Catch2 2 has no skip: the case passes with a warning
    return;
  }
  const Target target = parse_target("cuda:sm_90");
  std::mt19937_64 rng(20261201);
  // At least 32 configs of each template over the layers it applies to: 5 a layer, more where
  // it applies to few (the depthwise template).
  std::map<std::string, int> applicable;
  for (const char* spec : kLayers) {
    for (const auto& registered : template_registry()) applicable[registered->name()] += registered->applies(parse_workload(spec), target);
  }
  std::map<std::string, int> accepted, refused, layers;
  for (const char* spec : kLayers) {
    const Workload wl = parse_workload(spec);
    for (const auto& registered : template_registry()) {
      if (!registered->applies(wl, target)) continue;
      const ScheduleTemplate& tpl = *registered;
      ++layers[tpl.name()];
      const KnobSpace space = tpl.space(wl, target);
      const size_t per_layer = size_t(std::max(5, (32 + applicable[tpl.name()] - 1) / applicable[tpl.name()] + 1));
      std::vector<Config> configs = {tpl.default_config(wl, target)};
      while (configs.size() < per_layer) configs.push_back(space.at(rng() % space.size()));
      for (size_t i = 0; i < configs.size(); ++i) {
        INFO(spec << " " << tpl.name() << " config " << config_to_json(configs[i]).dump());
        LoopNest nest;
        try {
          nest = scheduled_nest(wl, make_schedule(wl, space, configs[i]), "k");
        } catch (const ScheduleError& e) {
          // A sampled config may ask for more shared memory than a block has; the default never
          // does, and the thread knobs never make more than 1024 threads.
          REQUIRE(i > 0);
          CHECK(std::string(e.what()).find("a block holds at most 49152 (48 KiB)") != std::string::npos);
          ++refused[tpl.name()];
          continue;
        }
        const CompiledArtifact ptx = compile_artifact(nest, target, EmitKind::Assembly);
        const PtxasReport report = ptxas(ptx.bytes);
        INFO(report.log);
        REQUIRE(report.exit_code == 0);
        for (size_t s = 0; s < ptx.abi.stages.size(); ++s) {
          const std::string kernel = "k_s" + std::to_string(s);
          CHECK(ptx.bytes.find(".entry " + kernel) != std::string::npos);
          REQUIRE(report.registers.count(kernel) == 1);
          CHECK(report.registers.at(kernel) <= 255);
          CHECK(report.shared_bytes.at(kernel) <= 48 * 1024);
          // A kernel holds shared memory exactly where the launch file says it does (LLVM may
          // split a small buffer into aligned scalars, so the sizes need not agree to the byte).
          CHECK((report.shared_bytes.at(kernel) > 0) == (ptx.abi.stages[s].shared_bytes > 0));
        }
        // The convolution stages its operands in shared memory.
        CHECK(ptx.bytes.find(".shared") != std::string::npos);
        CHECK(ptx.abi.stages[0].shared_bytes > 0);
        ++accepted[tpl.name()];
      }
    }
  }
  // The thread knobs never make a block the GPU cannot run: only shared memory refuses, and
  // for few of the sampled configs.
  for (const auto& [name, count] : layers) {
    INFO(name);
    CHECK(refused[name] * 4 <= accepted[name]);
  }
  // Every layer has the direct and im2col templates, the depthwise ones the depthwise template.
  CHECK(layers["gpu_direct"] == 10);
  CHECK(layers["gpu_depthwise"] == 2);
  CHECK(accepted["gpu_direct"] >= 30);
  CHECK(accepted["gpu_im2col_gemm"] >= 30);
  CHECK(accepted["gpu_depthwise"] >= 30);
}

TEST_CASE("staged weights fill shared memory with float4 or float2 loads where alignment allows, float loads elsewhere",
          "[gpu][ptx]") {
  const Target target = parse_target("cuda:sm_90");
  const ScheduleTemplate& tpl = template_named("gpu_direct");
  struct Layer {
    const char* spec;
    int64_t c_step;
    const char* vector_load;   ///< the weights fill's load, or nullptr: no vector load at all
    const char* vector_store;  ///< and its store to shared memory
  };
  // A block's weights are rows of c_step x 3 x 3 taps from a multiple of that in a filter's
  // C x 9: 4 channels a step are 36 floats from a 16-byte boundary, 2 are 18 from an 8-byte one;
  // 17 channels of 9 taps line up with nothing. The input window's fill has guards on its
  // lanes (the padding) and stays scalar.
  for (const Layer& l : {Layer{"n=1,c=64,h=56,w=56,k=64,r=3,s=3,pad=1", 4, "ld.global.nc.v4.f32", "st.shared.v4.f32"},
                         Layer{"n=1,c=6,h=10,w=10,k=8,r=3,s=3,pad=1", 2, "ld.global.nc.v2.f32", "st.shared.v2.f32"},
                         Layer{"n=1,c=17,h=9,w=9,k=23,r=3,s=3,pad=1", 17, nullptr, nullptr}}) {
    INFO(l.spec);
    const Workload wl = parse_workload(l.spec);
    Config config = tpl.default_config(wl, target);
    config["c_step"] = l.c_step;
    const CompiledArtifact ptx = compile_artifact(scheduled_nest(wl, make_schedule(wl, target, config), "k"), target, EmitKind::Assembly);
    const bool any_vector = std::regex_search(ptx.bytes, std::regex(R"(ld\.global(\.nc)?\.v[24]\.f32)"));
    if (l.vector_load) {
      CHECK(ptx.bytes.find(l.vector_load) != std::string::npos);
      CHECK(ptx.bytes.find(l.vector_store) != std::string::npos);
    } else {
      CHECK_FALSE(any_vector);
    }
    CHECK(ptx.bytes.find("ld.global.nc.f32") != std::string::npos);  // the input window's
    if (std::filesystem::exists(kPtxas)) CHECK(ptxas(ptx.bytes).exit_code == 0);
  }
}

TEST_CASE("GPU schedules refuse shared memory over a block's limit and misplaced shared stages", "[gpu][refusals]") {
  const Target target = parse_target("cuda:sm_90");
  const Workload wl = parse_workload("n=1,c=64,h=56,w=56,k=256,r=3,s=3,pad=1");
  const ScheduleTemplate& tpl = template_named("gpu_direct");
  Config big = tpl.default_config(wl, target);
  big["k_threads"] = 8;
  big["k_regs"] = 8;
  big["c_step"] = 32;
  // 32 channels of a 6 x 34 input window (4 rows, 8 x 4 columns of outputs), then 64 x 32 x
  // 3 x 3 weights: (6528 + 18432) x 4 = 99840 bytes.
  REQUIRE_THROWS_MATCHES(scheduled_nest(wl, make_schedule(wl, target, big)), ScheduleError,
                         Message("compute_at: stage 'conv' reads 'weights_staged' below loop 'co': the block's shared memory "
                                 "would hold 99840 bytes; a block holds at most 49152 (48 KiB)"));

  Schedule outside;
  outside.algorithm = "direct_conv_staged";
  outside.steps = {Step::compute_at("input_padded", "conv", "c", "shared")};
  REQUIRE_THROWS_MATCHES(apply_schedule_stages(wl, outside), ScheduleError,
                         Message("schedule step 1: compute_at: storage 'shared' needs loop 'c' inside a loop bound to a GPU block"));
  Schedule around;
  around.algorithm = "direct_conv_staged";
  around.steps = {Step::bind("k", "blockIdx.x"), Step::bind("q", "threadIdx.x"),
                  Step::compute_at("input_padded", "conv", "p", "shared")};
  REQUIRE_THROWS_MATCHES(apply_schedule_stages(wl, around), ScheduleError,
                         Message("schedule step 3: compute_at: storage 'shared': thread loop 'q' is inside loop 'p'; compute 'input_padded' "
                                 "at a loop inside every thread loop"));
}

TEST_CASE("a barrier that some threads of a block would miss is refused", "[gpu][refusals]") {
  const BufferRef out = make_buffer("output", {32}, MemoryScope::Param);
  const Expr tx = var("tx");
  const Stmt body = For::make("tx", 0, 32, ForKind::GpuThreadX,
                              Block::make({IfThenElse::make(tx < Expr(16), Barrier::make()),
                                           Store::make(out, {tx}, FloatImm::make(1.0), false)}));
  LoopNest nest;
  nest.name = "k";
  nest.params = {{out, "K", true}};
  nest.stages = {{"fill", StageKind::Compute, body}};
  REQUIRE_USER_ERROR(compile_artifact(nest, parse_target("cuda:sm_90"), EmitKind::Assembly),
                     "stage 'fill': a barrier inside if (tx < 16), which depends on the thread; every thread of a "
                     "block must reach each barrier");
  // The same barrier outside the condition is every thread's.
  nest.stages[0].body = For::make("tx", 0, 32, ForKind::GpuThreadX,
                                  Block::make({Barrier::make(), Store::make(out, {tx}, FloatImm::make(1.0), false)}));
  CHECK(compile_artifact(nest, parse_target("cuda:sm_90"), EmitKind::Assembly).bytes.find("bar.sync") != std::string::npos);
}

TEST_CASE("a GPU vector access claims the alignment its index proves, no more", "[gpu][ptx]") {
  // Each thread copies 4 floats of its row of 8: stored from the row's start (16 bytes), loaded
  // from 2 floats in (8 bytes: a float4 load there would fault, so two float2 loads).
  const BufferRef in = make_buffer("input", {32, 8}, MemoryScope::Param), out = make_buffer("output", {32, 4}, MemoryScope::Param);
  const Expr tx = var("tx");
  LoopNest nest;
  nest.name = "k";
  nest.params = {{in, "NX", false}, {out, "NX", true}};
  nest.stages = {{"copy", StageKind::Compute,
                  For::make("tx", 0, 32, ForKind::GpuThreadX,
                            Store::make(out, {tx, Ramp::make(Expr(0), 1, 4)}, Load::make(in, {tx, Ramp::make(Expr(2), 1, 4)}), false))}};
  const std::string ptx = compile_artifact(nest, parse_target("cuda:sm_90"), EmitKind::Assembly).bytes;
  CHECK(ptx.find("st.global.v4.f32") != std::string::npos);
  CHECK(std::regex_search(ptx, std::regex(R"(ld\.global(\.nc)?\.v2\.f32)")));
  CHECK_FALSE(std::regex_search(ptx, std::regex(R"(ld\.global(\.nc)?\.v4\.f32)")));
}

TEST_CASE("the host JIT refuses a GPU target in one line, driver or not (a network on a GPU)", "[gpu][refusals]") {
  const Workload wl = parse_workload("n=1,c=8,h=10,w=10,k=16,r=3,s=3,pad=1");
  const Target gpu = parse_target("cuda:sm_90");
  REQUIRE_USER_ERROR(compile_jit(scheduled_nest(wl, make_schedule(wl, gpu, default_config(wl, gpu))), gpu),
                     "target 'cuda:sm_90' is a GPU: its kernels run through the CUDA driver (run, bench, tune), not the "
                     "host's JIT; whole networks run on the CPU so far");
}

TEST_CASE("compile --emit ptx writes the kernels and their launches; the CPU emits refuse a GPU and back", "[gpu][cli]") {
  TempPath ptx("layer", ".ptx");
  const std::string spec = "n=1,c=16,h=12,w=12,k=24,r=3,s=3,pad=1,epilogue=bias_relu";
  const auto run = run_convtune({"compile", "--workload", spec, "--target", "cuda:sm_90", "--name", "layer", "-o", ptx.str()});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const std::string text = read_file(ptx.str());
  CHECK(text.find(".target sm_90") != std::string::npos);
  CHECK(text.find(".entry layer_s0") != std::string::npos);
  CHECK(text.find(".entry layer_s1") != std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(read_file(ptx.str() + ".json"));
  std::filesystem::remove(ptx.str() + ".json");
  REQUIRE(j["launches"].size() == 2);
  CHECK(j["launches"][0]["kernel"] == "layer_s0");
  CHECK(j["launches"][0]["stage"] == "conv");
  CHECK(j["launches"][1]["stage"] == "epilogue");
  // The epilogue: 24 x 12 x 12 points, 256 threads a block.
  CHECK(j["launches"][1]["grid"] == nlohmann::json({14, 1, 1}));
  CHECK(j["launches"][1]["block"] == nlohmann::json({256, 1, 1}));
  CHECK(j["launches"][0]["shared_bytes"].get<int64_t>() > 0);
  std::vector<std::string> names;
  for (const auto& a : j["arguments"]) names.push_back(a["name"]);
  CHECK(names == std::vector<std::string>{"input", "weights", "bias", "output", "conv"});
  // The weights as the kernels read them: a filter's taps in one row, KCRS's bytes.
  CHECK(j["arguments"][1]["shape"] == nlohmann::json({24, 16 * 9}));
  CHECK(j["arguments"][1]["layout"] == "K(CRS)");
  CHECK(j["pointer_align_bytes"] == 16);

  require_user_error({"compile", "--workload", spec, "--name", "layer", "-o", ptx.str(), "--emit", "ptx"},
                     "convtune: error: --emit ptx needs a CUDA target (--target cuda:sm_XX); 'cpu' is a CPU");
  require_user_error({"compile", "--workload", spec, "--target", "cuda", "--name", "layer", "-o", ptx.str(), "--emit", "obj"},
                     "convtune: error: --emit obj: target 'cuda:sm_90' compiles to PTX (--emit ptx)");
}

TEST_CASE("without a CUDA driver every GPU command fails in one line with exit 2", "[gpu][cli]") {
  if (convtune::testing::cuda_driver_present()) {
    WARN("a CUDA driver is installed here");  // Catch2 2 has no skip: the case passes with a warning
    return;
  }
  const std::string line = "convtune: error: target 'cuda:sm_90' cannot run here: no CUDA driver (libcuda.so.1 could not be loaded)";
  const std::string spec = "n=1,c=8,h=10,w=10,k=16,r=3,s=3,pad=1";
  TempPath db("gpu", ".jsonl");
  require_user_error({"run", "--workload", spec, "--target", "cuda"}, line);
  require_user_error({"bench", "--workload", spec, "--target", "cuda"}, line);
  require_user_error({"tune", "--workload", spec, "--target", "cuda", "--trials", "4", "--db", db.str()}, line);
  CHECK_FALSE(std::filesystem::exists(db.str()));
}
