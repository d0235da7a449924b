/// \file The sparse direct template: kernels on given weights agree with the reference at 0%,
/// 50%, 99% and 100% sparsity, with an empty row and a lone nonzero, with blocked patterns, on
/// odd layers (stride, dilation, groups, batch 2, asymmetric pads, 1x1, an epilogue, rows
/// narrower than a vector) at every point of the space drawn; a kernel runs with any values of
/// its pattern; and the template applies only where the weights are given.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>

#include "compiler/compile.h"
#include "compiler/kernel_runner.h"
#include "ir/ir_printer.h"
#include "ir/algorithms.h"
#include "ir/sparse.h"
#include "runtime/conv_problem.h"
#include "runtime/reference_conv.h"
#include "runtime/thread_pool.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::testing::TempPath;

namespace {

const std::vector<std::string> kLayers = {
    "n=1,c=5,h=9,w=11,k=7,r=3,s=3,pad=1",
    "n=2,c=6,h=10,w=10,k=8,r=3,s=3,pad=1,groups=2",
    "n=1,c=3,h=13,w=21,k=4,r=3,s=3,pad=0:2:1:0",
    "n=1,c=16,h=15,w=15,k=12,r=3,s=3,stride=2,pad=1",
    "n=1,c=8,h=12,w=12,k=6,r=3,s=3,dilation=2,pad=2",
    "n=1,c=17,h=7,w=7,k=33,r=1,s=1",
    "n=1,c=12,h=20,w=40,k=16,r=5,s=5,pad=2,epilogue=bias_add_relu",
    "n=1,c=4,h=3,w=3,k=5,r=3,s=3,pad=1,epilogue=bias_relu",
    // A tap's copy of the rows at a column shift of s * dilation_w, read at stride 2; one copy for 1x1.
    "n=1,c=5,h=17,w=19,k=6,r=3,s=3,stride=2,dilation=2,pad=2:1:2:1",
    "n=1,c=10,h=13,w=13,k=6,r=1,s=1,stride=2",
};

Workload pruned(const std::string& spec, double sparsity, int64_t block = 1) {
  Workload wl = parse_workload(spec);
  wl.weights.pruned = true;
  wl.weights.sparsity = sparsity;
  wl.weights.block = block;
  wl.validate();
  return with_weights_digest(wl);
}

Agreement check(const Workload& wl, const Schedule& sch, uint64_t seed) {
  auto runner = KernelRunner::compile(wl, sch, host_target());
  ConvProblem problem = ConvProblem::make(wl, seed);
  return runner->check(problem);
}

/// The default config and two drawn from the space of `template_name` agree with the reference.
void check_configs(const Workload& wl, std::mt19937_64& rng, uint64_t& seed, const char* template_name = "sparse_direct") {
  const Target target = host_target();
  const ScheduleTemplate& tpl = template_named(template_name);
  REQUIRE(tpl.applies(wl, target));
  const KnobSpace space = tpl.space(wl, target);
  std::vector<Config> configs = {tpl.default_config(wl, target)};
  for (int i = 0; i < 2; ++i) configs.push_back(space.at(rng() % space.size()));
  for (const Config& config : configs) {
    const Schedule sch = make_schedule(wl, space, config);
    INFO(wl.spec() << " at sparsity " << wl.weights.sparsity << " (block " << wl.weights.block << ") with " << sch.config.dump());
    const Agreement a = check(wl, sch, seed++);
    INFO("max rel err " << a.max_rel_err << ", bound " << a.tolerance);
    CHECK(a.ok);
  }
}

} // namespace

TEST_CASE("sparse template: kernels agree with the reference from dense to all-zero weights", "[schedules][sparse]") {
  std::mt19937_64 rng(12);
  uint64_t seed = 3;
  for (const std::string& spec : kLayers) {
    for (double sparsity : {0.0, 0.5, 0.99, 1.0}) check_configs(pruned(spec, sparsity), rng, seed);
  }
}

TEST_CASE("sparse template: blocked patterns agree with the reference", "[schedules][sparse]") {
  std::mt19937_64 rng(13);
  uint64_t seed = 50;
  check_configs(pruned("n=1,c=16,h=14,w=14,k=32,r=3,s=3,pad=1", 0.8, 16), rng, seed);
  check_configs(pruned("n=2,c=8,h=9,w=9,k=12,r=3,s=3,pad=1,groups=2", 0.6, 2), rng, seed);
}

TEST_CASE("sparse template: an empty row and a row of one nonzero", "[schedules][sparse]") {
  Workload wl = parse_workload("n=1,c=4,h=6,w=19,k=3,r=3,s=3,pad=1");
  std::vector<float> w(size_t(wl.weight_elems()), 0.0f);
  w[1 * 36 + 35] = 0.75f;  // channel 1: one tap, the last one (c=3, r=2, s=2)
  for (size_t t = 0; t < 36; t += 5) w[2 * 36 + t] = float(t) / 7 - 2;  // channel 2: every fifth tap; channel 0: none
  TempPath file("sparse_rows", ".f32");
  {
    std::ofstream out(file.str(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(w.data()), std::streamsize(w.size() * 4));
  }
  wl.weights.file = file.str();
  wl = with_weights_digest(wl);
  REQUIRE(sparse_pattern_of(wl).rows[0].empty());
  std::mt19937_64 rng(14);
  uint64_t seed = 70;
  check_configs(wl, rng, seed);
}

TEST_CASE("sparse template: a kernel runs with any values of its pattern", "[schedules][sparse]") {
  // Compiled once for the pattern; the values come from the weights at pack time, as a
  // deployment that loads trained weights into an ahead-of-time kernel would.
  const Workload wl = pruned("n=1,c=8,h=10,w=10,k=8,r=3,s=3,pad=1", 0.7);
  auto runner = KernelRunner::compile(wl, resolve_schedule("sparse_direct", wl, host_target()), host_target());
  ConvProblem problem = ConvProblem::make(wl, 4);
  for (int64_t i = 0; i < wl.weight_elems(); ++i) problem.weights.data()[i] *= float(1 + i % 3);
  problem.ref = reference_layer(wl, problem.input, problem.operands());
  CHECK(runner->check(problem).ok);
}

TEST_CASE("sparse template: two threads agree with the reference", "[schedules][sparse]") {
  ScopedThreads threads(2);
  const Workload wl = pruned("n=2,c=12,h=11,w=13,k=20,r=3,s=3,pad=1", 0.9);
  CHECK(check(wl, resolve_schedule("sparse_direct", wl, host_target()), 9).ok);
}

TEST_CASE("sparse template: applies where the weights are given, and the algorithm needs them", "[schedules][sparse]") {
  const Target target = host_target();
  const ScheduleTemplate& tpl = template_named("sparse_direct");
  CHECK_FALSE(tpl.applies(parse_workload("n=1,c=4,h=8,w=8,k=4,r=3,s=3,pad=1"), target));
  CHECK(tpl.applies(pruned("n=1,c=4,h=8,w=8,k=4,r=3,s=3,pad=1", 0.5), target));
  REQUIRE_THROWS_WITH(algorithm_named("sparse_direct", parse_workload("n=1,c=4,h=8,w=8,k=4,r=3,s=3,pad=1")),
                      "algorithm 'sparse_direct' needs the layer's weights (--weights FILE or --sparsity F); "
                      "n=1,c=4,h=8,w=8,k=4,r=3,s=3,stride=1,pad=1 has none");
}

TEST_CASE("sparse template: each row's list of taps runs to its own length, not the longest", "[schedules][sparse]") {
  const Workload wl = pruned("n=1,c=8,h=10,w=10,k=8,r=3,s=3,pad=1", 0.7);
  const std::string text = to_text(scheduled_nest(wl, resolve_schedule("sparse_direct", wl, host_target())));
  INFO(text);
  CHECK(text.find("j < sparse_length[k][cb]") != std::string::npos);
}

TEST_CASE("sparse blocked template: weights pruned in blocks of a vector's channels agree with the reference", "[schedules][sparse]") {
  // Blocks of the host's vector lanes (8 on AVX2, 16 on AVX-512): the template's block.
  const int64_t lanes = host_target().vector_lanes();
  std::mt19937_64 rng(15);
  uint64_t seed = 90;
  for (const char* spec : {"n=1,c=5,h=9,w=11,k=16,r=3,s=3,pad=1", "n=1,c=3,h=13,w=21,k=32,r=3,s=3,pad=0:2:1:0",
                           "n=1,c=16,h=15,w=15,k=16,r=3,s=3,stride=2,pad=1", "n=1,c=8,h=12,w=12,k=32,r=3,s=3,dilation=2,pad=2",
                           "n=1,c=17,h=7,w=7,k=48,r=1,s=1", "n=1,c=12,h=20,w=40,k=16,r=5,s=5,pad=2,epilogue=bias_add_relu",
                           "n=2,c=9,h=11,w=10,k=32,r=3,s=3,pad=1,epilogue=bias_relu",
                           "n=1,c=5,h=17,w=19,k=16,r=3,s=3,stride=2,dilation=2,pad=2:1:2:1"}) {
    for (double sparsity : {0.0, 0.5, 0.9, 1.0}) check_configs(pruned(spec, sparsity, lanes), rng, seed, "sparse_blocked");
  }
}

TEST_CASE("sparse blocked template: a last block narrower than a vector", "[schedules][sparse]") {
  // 21 output channels from a file: a vector's block shares its taps, and so do the last 21 % lanes.
  const int64_t lanes = host_target().vector_lanes();
  Workload wl = parse_workload("n=1,c=6,h=9,w=10,k=21,r=3,s=3,pad=1");
  const int64_t per_k = wl.c * 9;
  std::vector<float> w(size_t(wl.weight_elems()), 0.0f);
  for (int64_t k = 0; k < wl.k; ++k) {
    for (int64_t t = (k / lanes) % 3; t < per_k; t += 4) w[size_t(k * per_k + t)] = float((k * 7 + t) % 11) / 5 - 1;
  }
  TempPath file("sparse_last_block", ".f32");
  {
    std::ofstream out(file.str(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(w.data()), std::streamsize(w.size() * 4));
  }
  wl.weights.file = file.str();
  wl = with_weights_digest(wl);
  std::mt19937_64 rng(16);
  uint64_t seed = 130;
  check_configs(wl, rng, seed, "sparse_blocked");
}

TEST_CASE("sparse blocked template: applies to block patterns of ungrouped layers only", "[schedules][sparse]") {
  const Target target = host_target();
  const int64_t lanes = target.vector_lanes();
  const ScheduleTemplate& tpl = template_named("sparse_blocked");
  const char* spec = "n=1,c=16,h=8,w=8,k=64,r=3,s=3,pad=1";
  CHECK_FALSE(tpl.applies(parse_workload(spec), target));
  CHECK(tpl.applies(pruned(spec, 0.9, lanes), target));
  // Unstructured at 90%: a block's union holds several times its channels' nonzeros.
  CHECK_FALSE(tpl.applies(pruned(spec, 0.9), target));
  CHECK_FALSE(tpl.applies(pruned("n=1,c=16,h=8,w=8,k=64,r=3,s=3,pad=1,groups=2", 0.9, lanes), target));
  REQUIRE_THROWS_WITH(algorithm_named("sparse_blocked_k16", parse_workload(spec)),
                      "algorithm 'sparse_blocked_k16' needs the layer's weights (--weights FILE or --sparsity F); "
                      "n=1,c=16,h=8,w=8,k=64,r=3,s=3,stride=1,pad=1 has none");
}

