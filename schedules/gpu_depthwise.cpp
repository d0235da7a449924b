/// \file The GPU depthwise template (one input channel per group, any channel multiplier).
///
/// A depthwise layer has no channel reduction to share: what a block can share is the input
/// window of its output tile. Where gpu_direct gives a block one channel (the group is part of
/// its block index), this template gives a block g_threads channels side by side as well
/// (threadIdx.z), so that small images (7 x 7, 14 x 14) still fill blocks of a hundred threads
/// and more. Each thread keeps a p_regs x q_regs register tile of one channel's outputs, its rows
/// p_threads apart and columns q_threads apart; the block's input windows and weights are staged
/// in shared memory (the direct_conv_staged algorithm).
#include <algorithm>

#include "schedules/gpu_templates.h"
#include "schedules/nchwc_common.h"

namespace convtune::gpu {

namespace {

using nchwc::ceil_div;

struct Tile {
  int64_t gt, pt, pi, qt, qi;
  explicit Tile(const Config& c)
      : gt(knob_value(c, "g_threads")), pt(knob_value(c, "p_threads")), pi(knob_value(c, "p_regs")),
        qt(knob_value(c, "q_threads")), qi(knob_value(c, "q_regs")) {}
  /// The floats a block stages: each of its channels' input window, and their weights.
  int64_t shared_floats(const Workload& wl) const {
    return gt * (wl.rows_read(pt * pi) * wl.cols_read(qt * qi) + wl.k_per_group() * wl.r * wl.s);
  }
};

class GpuDepthwiseTemplate : public ScheduleTemplate {
public:
  const char* name() const override { return "gpu_depthwise"; }
  int version() const override { return 1; }

  bool applies(const Workload& wl, const Target& target) const override {
    return target.kind == TargetKind::Cuda && wl.is_conv() && wl.c_per_group() == 1 && wl.groups > 1;
  }

  /// The thread knobs multiply to at most 8 x 4 x 32 = 1024 threads.
  KnobSpace space(const Workload& wl, const Target&) const override {
    return space_of({
        {"g_threads", KnobKind::Split, powers_covering(wl.groups, 8), "channels of a block, one per thread slice (threadIdx.z)", wl.groups},
        {"p_threads", KnobKind::Split, powers_covering(wl.p(), 4), "threads of a block along output rows (threadIdx.y)", wl.p()},
        {"p_regs", KnobKind::Split, powers_covering(wl.p(), 4), "output rows per thread, p_threads apart (registers)", wl.p()},
        {"q_threads", KnobKind::Split, powers_covering(wl.q(), 32), "threads of a block along output columns (threadIdx.x)", wl.q()},
        {"q_regs", KnobKind::Split, powers_covering(wl.q(), 4), "output columns per thread, q_threads apart (registers)", wl.q()},
        {"unroll_rs", KnobKind::Annotate, {0, 1}, "unroll the kernel's rows and columns"},
    });
  }

  /// A warp along the row where it is that wide, about 128 threads, 2 x 2 outputs a thread, the
  /// channels the rest of the block; fewer channels while the staged windows take more than a
  /// quarter of a block's shared memory.
  Config default_config(const Workload& wl, const Target& target) const override {
    const KnobSpace s = space(wl, target);
    Config c;
    c["q_regs"] = at_most(knob_values(s, "q_regs"), 2);
    c["p_regs"] = at_most(knob_values(s, "p_regs"), 2);
    c["q_threads"] = at_most(knob_values(s, "q_threads"), std::max<int64_t>(1, ceil_div(wl.q(), c["q_regs"])));
    c["p_threads"] = at_most(knob_values(s, "p_threads"), std::max<int64_t>(1, ceil_div(wl.p(), c["p_regs"])));
    c["g_threads"] = at_most(knob_values(s, "g_threads"), std::max<int64_t>(1, 128 / (c["q_threads"] * c["p_threads"])));
    while (c["g_threads"] > 1 && Tile(c).shared_floats(wl) > kSharedFloats / 4) c["g_threads"] /= 2;
    c["unroll_rs"] = wl.r * wl.s <= 25 ? 1 : 0;
    return c;
  }

  std::string algorithm(const Workload&, const Config&) const override { return "direct_conv_staged"; }

  std::vector<Step> steps(const Workload& wl, const KnobSpace&, const Config& config) const override {
    const Tile t(config);
    std::vector<Step> st = {Step::split("g", t.gt, "go", "gt"),
                            Step::split("p", t.pt * t.pi, "po", "p_in"), Step::split("p_in", t.pt, "pi", "pt"),
                            Step::split("q", t.qt * t.qi, "qo", "q_in"), Step::split("q_in", t.qt, "qi", "qt"),
                            Step::reorder({"n", "go", "k", "po", "qo", "gt", "pt", "qt", "c", "r", "s", "pi", "qi"}),
                            Step::fuse("n", "go", "ngo"), Step::fuse("ngo", "k", "block"),
                            Step::on_loop("cache_write", "qt"), Step::on_loop("unroll", "pi"), Step::on_loop("unroll", "qi")};
    if (knob_value(config, "unroll_rs")) {
      st.push_back(Step::on_loop("unroll", "r"));
      st.push_back(Step::on_loop("unroll", "s"));
    }
    for (Step s : {Step::bind("block", "blockIdx.x"), Step::bind("po", "blockIdx.y"), Step::bind("qo", "blockIdx.z"),
                   Step::bind("gt", "threadIdx.z"), Step::bind("pt", "threadIdx.y"), Step::bind("qt", "threadIdx.x"),
                   Step::compute_at("input_padded", "conv", "c", "shared"), Step::compute_at("weights_staged", "conv", "c", "shared")}) {
      st.push_back(s);
    }
    if (wl.has_bias()) append_elementwise("epilogue", st);
    return st;
  }

  std::vector<std::string> feature_names() const override {
    return {"log2_g_threads", "log2_p_threads", "log2_p_regs", "log2_q_threads", "log2_q_regs", "unroll_rs",
            "log2_threads", "log2_blocks", "shared_kib", "p_util", "q_util", "g_util"};
  }

  std::vector<double> features(const Workload& wl, const Target&, int, const Config& c) const override {
    const Tile t(c);
    const auto lg = nchwc::log2_at_least_1;
    const int64_t blocks = wl.n * ceil_div(wl.groups, t.gt) * wl.k_per_group() * ceil_div(wl.p(), t.pt * t.pi) *
                           ceil_div(wl.q(), t.qt * t.qi);
    return {lg(double(t.gt)), lg(double(t.pt)), lg(double(t.pi)), lg(double(t.qt)), lg(double(t.qi)),
            double(knob_value(c, "unroll_rs")), lg(double(t.gt * t.pt * t.qt)), lg(double(blocks)),
            double(t.shared_floats(wl)) * 4 / 1024, nchwc::utilisation(wl.p(), t.pt * t.pi),
            nchwc::utilisation(wl.q(), t.qt * t.qi), nchwc::utilisation(wl.groups, t.gt)};
  }
};

} // namespace

std::unique_ptr<ScheduleTemplate> make_depthwise_template() { return std::make_unique<GpuDepthwiseTemplate>(); }

} // namespace convtune::gpu
