/// \file The template registry: which template fits which layer and target, refusals by name,
/// and what every registered template promises (default in its space, features as named,
/// schedules that replay from their JSON trace).
#include <catch2/catch.hpp>

#include <random>
#include <sstream>

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "ir/ir_printer.h"
#include "compiler/compile.h"
#include "schedules/nchwc_common.h"
#include "schedules/schedule_template.h"
#include "compiler/kernel_runner.h"
#include "runtime/conv_problem.h"
#include "tests/check_kernel.h"
#include "tests/test_support.h"

using namespace convtune;

namespace {
const char* kLayers[] = {"n=1,c=3,h=13,w=11,k=10,r=3,s=3,stride=2,pad=1",
                         "n=2,c=12,h=7,w=9,k=20,r=1,s=1",
                         "n=1,c=8,h=6,w=9,k=12,r=3,s=3,pad=0:1:2:0,groups=4,dilation=2",
                         "n=1,c=24,h=9,w=7,k=24,r=3,s=3,pad=1,groups=24",
                         "n=2,c=20,h=5,w=5,k=40,r=5,s=5,pad=2,groups=20",
                         // One vector of output channels, 30 columns: AVX-512's registers hold a
                         // wider tile than the width knob offers.
                         "n=1,c=3,h=30,w=30,k=16,r=3,s=3,pad=1"};
} // namespace

TEST_CASE("template_for picks depthwise for one channel per group and direct otherwise", "[schedules][templates]") {
  const Target t = convtune::testing::x86_target("x86-64-v3", 256);
  CHECK(std::string(template_for(parse_workload(kLayers[0]), t).name()) == "direct_nchwc");
  CHECK(std::string(template_for(parse_workload(kLayers[2]), t).name()) == "direct_nchwc");
  CHECK(std::string(template_for(parse_workload(kLayers[3]), t).name()) == "depthwise_nchwc");
  // A depthwise layer with a channel multiplier is still depthwise (c per group = 1).
  CHECK(std::string(template_for(parse_workload(kLayers[4]), t).name()) == "depthwise_nchwc");
}

TEST_CASE("the registry refuses unknown templates and targets no template serves", "[schedules][templates]") {
  REQUIRE_USER_ERROR(template_named("winograd_f3"), "unknown template 'winograd_f3' (templates: depthwise_nchwc, direct_nchwc, im2col_gemm, winograd, sparse_direct, sparse_blocked, pool_nchwc, gpu_direct, gpu_im2col_gemm, gpu_depthwise)");
  // No GPU template pools yet.
  const Workload wl = parse_workload("n=1,c=4,h=5,w=5,r=3,s=3,op=maxpool");
  REQUIRE_USER_ERROR(template_for(wl, parse_target("cuda:sm_90")),
                     "no schedule template applies to " + wl.spec() + " on target 'cuda:sm_90'");
}

TEST_CASE("every template: unique name, default in its space, features as named, schedules replay", "[schedules][templates]") {
  std::set<std::string> names;
  for (const auto& t : template_registry()) names.insert(t->name());
  CHECK(names.size() == template_registry().size());

  for (const char* cpu : {"x86-64-v3", "x86-64-v4", "cuda:sm_90"}) {
    const Target target = parse_target(cpu);
    for (const char* spec : kLayers) {
      const Workload wl = parse_workload(spec);
      for (const auto& registered : template_registry()) {
      if (!registered->applies(wl, target)) continue;
      const ScheduleTemplate& tpl = *registered;
      INFO(cpu << " " << spec << " " << tpl.name());
      const KnobSpace space = tpl.space(wl, target);
      CHECK(space.template_name == tpl.name());
      CHECK(space.template_version == tpl.version());
      const Config def = tpl.default_config(wl, target);
      CHECK_NOTHROW(space.index_of(def));
      // The default always lowers. A few configs across the space, the default among them,
      // replay to the same nest, or to the same refusal (a GPU tile over the shared memory).
      CHECK_NOTHROW(scheduled_nest(wl, make_schedule(wl, space, def)));
      const auto nest_or_refusal = [&](const Schedule& sch) {
        try {
          return to_text(scheduled_nest(wl, sch));
        } catch (const UserError& e) {
          return std::string("refused: ") + e.what();
        }
      };
      for (uint64_t i : {uint64_t(0), space.size() / 3, space.size() - 1, space.index_of(def)}) {
        const Config c = space.at(i);
        CHECK(tpl.features(wl, target, 2, c).size() == tpl.feature_names().size());
        const Schedule sch = make_schedule(wl, space, c);
        const Schedule replayed = schedule_from_json(nlohmann::json::parse(to_json(sch).dump()));
        CHECK(replayed == sch);
        CHECK(nest_or_refusal(replayed) == nest_or_refusal(sch));
      }
      const nlohmann::json j = space;
      CHECK(j["knobs"].size() == space.knobs.size());
      CHECK(j["size"] == space.size());
      }
    }
  }
}

TEST_CASE("im2col_gemm configs compute the convolution on odd shapes", "[schedules][templates][im2col]") {
  const Target target = host_target();
  const ScheduleTemplate& tpl = template_named("im2col_gemm");
  const char* layers[] = {"n=1,c=20,h=5,w=7,k=24,r=1,s=1",         "n=2,c=12,h=7,w=9,k=20,r=1,s=1,stride=2",
                          "n=1,c=3,h=13,w=11,k=10,r=3,s=3,stride=2,pad=1", "n=1,c=8,h=6,w=9,k=12,r=3,s=3,pad=0:1:2:0,groups=4,dilation=2",
                          "n=2,c=6,h=5,w=5,k=9,r=2,s=3,pad=1:0",     "n=1,c=40,h=3,w=3,k=33,r=1,s=1"};
  for (const char* spec : layers) {
    const Workload wl = parse_workload(spec);
    const KnobSpace space = tpl.space(wl, target);
    // The default, then configs spread over the space.
    std::vector<Config> configs = {tpl.default_config(wl, target)};
    for (uint64_t i = 1; i <= 5; ++i) configs.push_back(space.at(space.size() * i / 6));
    for (const Config& c : configs) {
      const Schedule sch = make_schedule(wl, space, c);
      INFO(spec << " " << to_json(sch).dump());
      CHECK(sch.algorithm == "im2col_gemm");
      CHECK(testing::run_and_check(wl, scheduled_nest(wl, sch)).ok);
    }
  }
}

TEST_CASE("every template schedules the convolution epilogues, computed inside the unpacking", "[schedules][templates][epilogue]") {
  const Target target = host_target();
  const char* layers[] = {"n=2,c=12,h=7,w=9,k=20,r=3,s=3,pad=1,epilogue=bias_add_relu",
                          "n=1,c=8,h=6,w=9,k=12,r=3,s=3,pad=0:1:2:0,groups=4,dilation=2,epilogue=bias_relu",
                          "n=1,c=24,h=9,w=7,k=24,r=3,s=3,stride=2,pad=1,groups=24,epilogue=bias_add_relu",
                          "n=1,c=20,h=5,w=7,k=17,r=1,s=1,epilogue=bias"};
  for (const char* spec : layers) {
    const Workload wl = parse_workload(spec);
    ConvProblem problem = ConvProblem::make(wl, 21);
    for (const auto& tpl : template_registry()) {
      if (!tpl->applies(wl, target)) continue;
      const KnobSpace space = tpl->space(wl, target);
      for (const Config& c : {tpl->default_config(wl, target), space.at(space.size() / 2), space.at(space.size() - 1)}) {
        const Schedule sch = make_schedule(wl, space, c);
        INFO(spec << " " << to_json(sch).dump());
        const LoopNest nest = scheduled_nest(wl, sch);
        // The epilogue runs in the unpacking: no stage of its own, no buffer for the bare sums.
        for (const NestStage& s : nest.stages) CHECK(s.name != "epilogue");
        for (const BufferRef& t : nest.temporaries) CHECK(t->name != "conv");
        KernelRunner runner(compile_jit(nest, target));
        CHECK(runner.check(problem).ok);
      }
    }
  }
}

TEST_CASE("pool_nchwc configs compute max and average pooling, padding included", "[schedules][templates][pool]") {
  const Target target = host_target();
  const ScheduleTemplate& tpl = template_named("pool_nchwc");
  const char* layers[] = {"n=1,c=20,h=9,w=11,r=3,s=3,stride=2,pad=1,op=maxpool",
                          "n=2,c=7,h=8,w=8,r=2,s=3,stride=1:2,pad=1:0:0:2,op=maxpool",
                          "n=1,c=20,h=9,w=11,r=3,s=3,stride=2,pad=1,op=avgpool",
                          "n=1,c=33,h=7,w=7,r=3,s=3,pad=1:2:1:0,op=avgpool,count_include_pad=1",
                          "n=1,c=16,h=14,w=14,r=2,s=2,stride=2,dilation=2,op=maxpool"};
  for (const char* spec : layers) {
    const Workload wl = parse_workload(spec);
    REQUIRE(std::string(template_for(wl, target).name()) == "pool_nchwc");
    ConvProblem problem = ConvProblem::make(wl, 5);
    // All-negative inputs: a padded tap read as 0 would win a max.
    for (int64_t i = 0; i < problem.input.size(); ++i) problem.input[i] = -1.0f - std::abs(problem.input[i]);
    problem.ref = reference_layer(wl, problem.input, problem.operands());
    const KnobSpace space = tpl.space(wl, target);
    for (const Config& c : {tpl.default_config(wl, target), space.at(0), space.at(space.size() / 2), space.at(space.size() - 1)}) {
      const Schedule sch = make_schedule(wl, space, c);
      INFO(spec << " " << to_json(sch).dump());
      KernelRunner runner(compile_jit(scheduled_nest(wl, sch), target));
      CHECK(runner.check(problem).ok);
    }
  }
}

TEST_CASE("every template's default config is a point of its space, on seeded random layers", "[schedules][templates]") {
  // A default outside its space fails the first trial of every tuning session on that layer.
  std::mt19937_64 rng(20261201);
  const auto pick = [&](int64_t lo, int64_t hi) { return lo + int64_t(rng() % uint64_t(hi - lo + 1)); };
  for (const char* name : {"x86-64-v3", "x86-64-v4", "cuda:sm_90"}) {
    const Target target = parse_target(name);
    for (int i = 0; i < 300; ++i) {
      const int64_t r = std::vector<int64_t>{1, 3, 5, 7}[rng() % 4], s = rng() % 4 == 0 ? 1 : r;
      const int64_t groups = rng() % 5 == 0 ? pick(1, 4) : 1, depthwise = rng() % 5 == 0;
      const int64_t c = depthwise ? pick(1, 64) : groups * pick(1, 48), k = depthwise ? c : groups * pick(1, 48);
      const int64_t h = pick(r, 80), w = pick(s, 80);
      std::ostringstream spec;
      spec << "n=" << pick(1, 2) << ",c=" << c << ",h=" << h << ",w=" << w << ",k=" << k << ",r=" << r << ",s=" << s
           << ",stride=" << pick(1, 2) << ",pad=" << pick(0, r / 2) << ",groups=" << (depthwise ? c : groups);
      const Workload wl = parse_workload(spec.str());
      for (const auto& tpl : template_registry()) {
        if (!tpl->applies(wl, target)) continue;
        INFO(name << " " << spec.str() << " " << tpl->name());
        const KnobSpace space = tpl->space(wl, target);
        CHECK_NOTHROW(space.index_of(tpl->default_config(wl, target)));
      }
    }
  }
}


TEST_CASE("the direct template's default register tile fits the registers and keeps enough sums where the layer allows",
          "[schedules][templates]") {
  // Layers of MobileNetV2 and ResNet-18 (1x1 at 56, 14 and 7 columns, a 3x3, the classifier),
  // odd channel and column counts, on AVX2 (16 registers of 8 lanes) and AVX-512 (32 of 16).
  const char* layers[] = {"n=1,c=144,h=56,w=56,k=24,r=1,s=1",  "n=1,c=160,h=7,w=7,k=960,r=1,s=1",
                          "n=1,c=24,h=56,w=56,k=144,r=1,s=1",  "n=1,c=64,h=56,w=56,k=64,r=3,s=3,pad=1",
                          "n=1,c=1280,h=1,w=1,k=1000,r=1,s=1", "n=2,c=12,h=9,w=13,k=20,r=1,s=1",
                          "n=1,c=3,h=224,w=224,k=32,r=3,s=3,stride=2,pad=1", "n=1,c=40,h=14,w=14,k=240,r=1,s=1"};
  const ScheduleTemplate& tpl = template_named("direct_nchwc");
  for (const char* cpu : {"x86-64-v3", "x86-64-v4"}) {
    const Target target = parse_target(cpu);
    const int64_t lanes = target.vector_lanes();
    for (const char* spec : layers) {
      const Workload wl = parse_workload(spec);
      const Config def = tpl.default_config(wl, target);
      const int64_t vecs = knob_value(def, "oc_bn") / lanes, columns = knob_value(def, "ow_bn") * knob_value(def, "oh_bn");
      INFO(cpu << " " << spec << " " << nlohmann::json(def).dump());
      // The sums, one weight vector per channel vector and a broadcast: no spill.
      CHECK(vecs * columns + vecs + 1 <= target.vector_registers);
      // Enough independent sums to hide the FMA latency wherever the row is long enough for them.
      if (wl.q() >= 4) CHECK(vecs * columns >= nchwc::kEnoughAccumulators);
    }
  }
  // Three vectors cover 24 channels on AVX2 exactly, where two would compute 32 lanes.
  CHECK(knob_value(tpl.default_config(parse_workload(layers[0]), parse_target("x86-64-v3")), "oc_bn") == 24);
}
