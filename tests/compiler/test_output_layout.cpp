/// \file A kernel storing its output in a network's channel-blocked layout (what the next
/// kernel's packing would make): equal to the reference at every logical element, and nothing
/// written outside them (the exterior is the network's to fill).
#include <catch2/catch.hpp>

#include <cstring>
#include <optional>

#include "compiler/compile.h"
#include "runtime/conv_problem.h"
#include "runtime/network_ops.h"
#include "schedules/schedule_template.h"

using namespace convtune;

namespace {

/// Storage of `wl`'s output in blocks of `block` channels, `top`/`left` rows and columns before
/// it and `extra` after (a consumer's padding and its tiles' over-run).
TensorLayout layout_for(const Workload& wl, int64_t block, int64_t top, int64_t left, int64_t extra) {
  TensorLayout l;
  l.block = block;
  l.top = top;
  l.left = left;
  l.shape = {wl.n, (wl.k + block - 1) / block, top + wl.p() + extra, left + wl.q() + extra, block};
  return l;
}

/// `dense` (NCHW of `logical`) in `layout`, the exterior as garbage (a residual has none read).
Tensor blocked(const Tensor& dense, const TensorLayout& layout, const std::vector<int64_t>& logical) {
  Tensor storage(layout.elements());
  storage.fill_random(99);
  const float* next = dense.data();
  for (int64_t n = 0; n < logical[0]; ++n) {
    for (int64_t c = 0; c < logical[1]; ++c) {
      for (int64_t h = 0; h < logical[2]; ++h) {
        for (int64_t w = 0; w < logical[3]; ++w) storage.data()[layout.offset(n, c, h, w)] = *next++;
      }
    }
  }
  return storage;
}

/// Checks the kernel of `schedule` storing into `layout`; returns its ABI.
KernelAbi check_blocked_output(const Workload& wl, const Schedule& schedule, const TensorLayout& layout,
                               const std::optional<TensorLayout>& residual = std::nullopt,
                               const std::optional<TensorLayout>& input = std::nullopt) {
  INFO(wl.spec() << " schedule " << schedule.template_name << " " << schedule.config.dump() << " layout " << layout.describe());
  const Target target = host_target();
  LowerOptions options;
  options.layouts.output = layout;
  options.layouts.residual = residual;
  options.layouts.input = input;
  const auto kernel = compile_jit(scheduled_nest(wl, schedule, "blocked", options), target, options);
  const KernelAbi& abi = kernel->abi();
  REQUIRE(abi.params.back().name == "output");
  CHECK(abi.params.back().shape == layout.shape);

  ConvProblem problem = ConvProblem::make(wl, 11);
  Tensor storage(layout.elements());
  constexpr float kSentinel = 1234.5f;
  std::fill(storage.data(), storage.data() + layout.elements(), kSentinel);
  std::vector<float*> params;
  const std::vector<int64_t> logical = {wl.n, wl.k, wl.p(), wl.q()};
  Tensor residual_storage = residual ? blocked(problem.residual, *residual, logical) : Tensor();
  Tensor input_storage = input ? blocked(problem.input, *input, {wl.n, wl.c, wl.h, wl.w}) : Tensor();
  for (const AbiParam& p : abi.params) {
    params.push_back(p.name == "output"                 ? storage.data()
                     : p.name == "residual" && residual ? residual_storage.data()
                     : p.name == "input" && input       ? input_storage.data()
                                                        : problem.tensor(p.name).data());
  }
  REQUIRE(kernel->call_function()(params.data(), nullptr) == kKernelOk);

  Tensor dense(wl.output_elems());
  unblock(storage.data(), layout, logical, dense.data());
  const Agreement a = check_against_reference(wl, problem.reference_for(schedule.algorithm), dense);
  INFO("max relative error " << a.max_rel_err << " tolerance " << a.tolerance);
  CHECK(a.ok);
  // Outside the logical tensor the storage is as it was.
  TensorLayout untouched = layout;
  untouched.exterior = kSentinel;
  Tensor expected(layout.elements());
  std::memcpy(expected.data(), storage.data(), size_t(layout.elements()) * sizeof(float));
  fill_exterior(expected.data(), untouched, wl.k, wl.p(), wl.q());
  CHECK(std::memcmp(expected.data(), storage.data(), size_t(layout.elements()) * sizeof(float)) == 0);
  return abi;
}

KernelAbi check_blocked_output(const Workload& wl, const std::string& schedule_name, const TensorLayout& layout,
                               const std::optional<TensorLayout>& residual = std::nullopt,
                               const std::optional<TensorLayout>& input = std::nullopt) {
  return check_blocked_output(wl, resolve_schedule(schedule_name, wl, host_target()), layout, residual, input);
}

} // namespace

TEST_CASE("A convolution stores its output in a consumer's blocked layout", "[compiler][layout]") {
  const int64_t lanes = host_target().vector_lanes();
  // Dense with and without an epilogue, a residual added, grouped, depthwise, strided 1x1, odd
  // channels a block does not divide, batch 2; blocks equal to, below and above the producer's.
  const char* specs[] = {
      "n=1,c=16,h=10,w=12,k=32,r=3,s=3,pad=1",
      "n=1,c=16,h=10,w=12,k=32,r=3,s=3,pad=1,epilogue=bias_relu",
      "n=2,c=8,h=7,w=9,k=24,r=1,s=1,stride=2,epilogue=bias_add_relu",
      "n=1,c=16,h=9,w=9,k=32,r=3,s=3,pad=1,groups=4,epilogue=bias",
      "n=1,c=32,h=11,w=11,k=32,r=3,s=3,pad=1,groups=32,epilogue=bias_relu6",
      "n=1,c=3,h=13,w=13,k=20,r=3,s=3,stride=2,pad=1,epilogue=bias",
  };
  for (const char* spec : specs) {
    const Workload wl = parse_workload(spec);
    for (const int64_t block : {lanes, 2 * lanes, int64_t(4)}) {
      check_blocked_output(wl, "default", layout_for(wl, block, 1, 1, 2));
    }
    check_blocked_output(wl, "naive", layout_for(wl, lanes, 2, 0, 0));
  }
}

TEST_CASE("Other algorithms and pooling store their output in a blocked layout too", "[compiler][layout]") {
  const int64_t lanes = host_target().vector_lanes();
  const Workload conv = parse_workload("n=1,c=16,h=12,w=12,k=16,r=3,s=3,pad=1,epilogue=bias_relu");
  for (const char* name : {"im2col_gemm", "winograd"}) check_blocked_output(conv, name, layout_for(conv, lanes, 1, 1, 1));
  check_blocked_output(parse_workload("n=1,c=16,h=12,w=12,k=16,r=3,s=3,pad=1"), "winograd", layout_for(conv, lanes, 0, 0, 0));
  for (const char* spec : {"op=maxpool,n=1,c=24,h=13,w=13,r=3,s=3,stride=2,pad=1",
                           "op=avgpool,n=2,c=16,h=8,w=8,r=3,s=3,stride=1,pad=1,count_include_pad=0"}) {
    const Workload wl = parse_workload(spec);
    check_blocked_output(wl, "default", layout_for(wl, lanes, 1, 1, 0));
  }
}

TEST_CASE("An epilogue reads its residual from a blocked layout", "[compiler][layout]") {
  const int64_t lanes = host_target().vector_lanes();
  for (const char* spec : {"n=2,c=8,h=7,w=9,k=24,r=1,s=1,stride=2,epilogue=bias_add_relu",
                           "n=1,c=16,h=10,w=10,k=16,r=3,s=3,pad=1,epilogue=bias_add"}) {
    const Workload wl = parse_workload(spec);
    // The residual kept as another reader packs it: padded, in a block other than the output's.
    for (const char* schedule : {"default", "naive"}) {
      check_blocked_output(wl, schedule, layout_for(wl, lanes, 1, 1, 2), layout_for(wl, 4, 1, 2, 1));
    }
  }
}

TEST_CASE("A kernel packs its input from another reader's blocked layout", "[compiler][layout]") {
  const int64_t lanes = host_target().vector_lanes();
  // The input kept as a padded 3x3 reader packs it (garbage in its exterior: never read), read by
  // a strided 1x1, a depthwise, a pool and the other algorithms.
  const char* specs[] = {"n=2,c=16,h=9,w=9,k=24,r=1,s=1,stride=2,epilogue=bias",
                         "n=1,c=32,h=11,w=11,k=32,r=3,s=3,pad=1,groups=32,epilogue=bias_relu6",
                         "op=maxpool,n=1,c=24,h=13,w=13,r=3,s=3,stride=2,pad=1",
                         "n=1,c=12,h=10,w=10,k=20,r=3,s=3,pad=2,dilation=2,epilogue=bias_add_relu"};
  for (const char* spec : specs) {
    const Workload wl = parse_workload(spec);
    TensorLayout in;
    in.block = 4;
    in.top = 1;
    in.left = 2;
    in.shape = {wl.n, (wl.c + 3) / 4, wl.h + 2, wl.w + 3, 4};
    for (const char* schedule : {"default", "naive"}) {
      check_blocked_output(wl, schedule, layout_for(wl, lanes, 1, 1, 0), std::nullopt, in);
    }
  }
  const Workload conv = parse_workload("n=1,c=16,h=12,w=12,k=16,r=3,s=3,pad=1,epilogue=bias_relu");
  TensorLayout in;
  in.block = lanes;
  in.shape = {1, (16 + lanes - 1) / lanes, 12, 12, lanes};
  for (const char* name : {"im2col_gemm", "winograd"}) check_blocked_output(conv, name, layout_for(conv, lanes, 0, 0, 0), std::nullopt, in);
}

TEST_CASE("An epilogue storing in channel blocks is computed in the register tile's write-back", "[compiler][layout]") {
  const Target target = host_target();
  const int64_t lanes = target.vector_lanes();
  // Output channels in register tiles of two vectors, stored in blocks of one vector or of one
  // tile; row and column tiles running past the result (7 rows by 2, 10 columns by 4); a residual
  // in another block; channels ending inside the last tile (3 vectors) but on a block of the
  // layout. All without an unpacking pass.
  const Config tile = {{"oc_bn", 2 * lanes}, {"ic_bn", 8}, {"ow_bn", 4}, {"oh_bn", 2}, {"order", 0}, {"unroll_kw", 0}, {"parallel", 0}};
  const auto spec = [](int64_t k, const char* rest) { return "n=2,c=8,h=7,w=10,k=" + std::to_string(k) + rest; };
  for (const int64_t k : {4 * lanes, 3 * lanes}) {
    const Workload wl = parse_workload(spec(k, ",r=3,s=3,pad=1,epilogue=bias_add_relu6"));
    for (const int64_t block : {lanes, 2 * lanes}) {
      if (k % block != 0) continue;
      const KernelAbi abi = check_blocked_output(wl, make_schedule(wl, target, tile), layout_for(wl, block, 1, 2, 1), layout_for(wl, 4, 0, 1, 0));
      CHECK_FALSE(abi.has_stage(StageKind::UnpackOutput));
    }
  }
  // Blocks of the layout wider than the tile: each holds several tiles' lanes (a one-vector tile
  // in blocks of two and four vectors, a depthwise one in blocks of two; 6 vectors of channels,
  // the last block of four half full of tiles that exist).
  const Config one_vector = {{"oc_bn", lanes}, {"ic_bn", 8}, {"ow_bn", 4}, {"oh_bn", 2}, {"order", 0}, {"unroll_kw", 0}, {"parallel", 0}};
  const Workload wide = parse_workload(spec(4 * lanes, ",r=1,s=1,epilogue=bias_add_relu"));
  for (const int64_t block : {2 * lanes, 4 * lanes}) {
    const KernelAbi abi = check_blocked_output(wide, make_schedule(wide, target, one_vector), layout_for(wide, block, 0, 1, 1), layout_for(wide, 4, 0, 0, 0));
    CHECK_FALSE(abi.has_stage(StageKind::UnpackOutput));
  }
  const Workload depthwise = parse_workload("n=1,c=" + std::to_string(6 * lanes) + ",h=9,w=11,k=" + std::to_string(6 * lanes) +
                                            ",r=3,s=3,stride=2,pad=1,groups=" + std::to_string(6 * lanes) + ",epilogue=bias_relu6");
  const Config dw = {{"ch_bn", lanes}, {"ow_bn", 3}, {"oh_bn", 2}, {"unroll_kw", 1}, {"parallel", 0}};
  const Schedule dw_schedule = make_schedule(depthwise, target, dw);
  CHECK_FALSE(check_blocked_output(depthwise, dw_schedule, layout_for(depthwise, 2 * lanes, 1, 1, 0)).has_stage(StageKind::UnpackOutput));
  // Channels ending inside a block of the layout, or blocks neither a multiple nor a divisor of
  // the tile's lanes (three vectors in a tile of two): the unpacking stays.
  const Workload odd = parse_workload(spec(lanes + lanes / 2, ",r=1,s=1,epilogue=bias_relu"));
  CHECK(check_blocked_output(odd, make_schedule(odd, target, tile), layout_for(odd, lanes, 1, 1, 0)).has_stage(StageKind::UnpackOutput));
  CHECK(check_blocked_output(depthwise, dw_schedule, layout_for(depthwise, 4 * lanes, 0, 0, 0)).has_stage(StageKind::UnpackOutput));
  const Workload three = parse_workload(spec(6 * lanes, ",r=1,s=1,epilogue=bias_relu"));
  CHECK(check_blocked_output(three, make_schedule(three, target, tile), layout_for(three, 3 * lanes, 0, 0, 0)).has_stage(StageKind::UnpackOutput));
}
