/// \file The GPU direct-convolution template (every convolution: dense, grouped, depthwise,
/// strided, dilated, batched).
///
/// The structure of a classic shared-memory direct convolution (TVM's CUDA conv2d_direct, the
/// cuda-convnet kernels): each block computes a tile of output channels x output rows x output
/// columns of one image (and group); its threads form a k_threads x p_threads x q_threads grid,
/// each keeping a k_regs x q_regs tile of sums in registers. The input channels run in steps of
/// c_step: per step the block's threads load the zero-padded input window and the weights the
/// tile needs into shared memory together (schedules/stage_placement "shared"), wait at a
/// barrier, and each thread sums its tile from shared memory. A thread's outputs are spread
/// q_threads columns apart (and k_threads channels apart), so neighbouring threads of a warp
/// read neighbouring shared words and store neighbouring output columns.
#include <algorithm>

#include "schedules/gpu_templates.h"
#include "schedules/nchwc_common.h"

namespace convtune::gpu {

namespace {

using nchwc::ceil_div;
using nchwc::divisors_up_to;

struct Tile {
  int64_t kt, ki, pt, qt, qi, ci;
  explicit Tile(const Config& c)
      : kt(knob_value(c, "k_threads")), ki(knob_value(c, "k_regs")), pt(knob_value(c, "p_threads")),
        qt(knob_value(c, "q_threads")), qi(knob_value(c, "q_regs")), ci(knob_value(c, "c_step")) {}
  int64_t threads() const { return kt * pt * qt; }
  /// The floats a block keeps in shared memory per input-channel step: the input window of its
  /// rows and columns and the weights of its channels.
  int64_t shared_floats(const Workload& wl) const {
    return ci * wl.rows_read(pt) * wl.cols_read(qt * qi) + kt * ki * ci * wl.r * wl.s;
  }
};

class GpuDirectTemplate : public ScheduleTemplate {
public:
  const char* name() const override { return "gpu_direct"; }
  // Version 2: q_regs up to 8 (a register tile of up to 8 x 8 sums).
  int version() const override { return 2; }

  bool applies(const Workload& wl, const Target& target) const override {
    return target.kind == TargetKind::Cuda && wl.is_conv();
  }

  /// The thread knobs multiply to at most 8 x 4 x 32 = 1024 threads: every config is a block
  /// the GPU can run (only shared memory can still refuse one).
  KnobSpace space(const Workload& wl, const Target&) const override {
    return space_of({
        {"k_threads", KnobKind::Split, powers_covering(wl.k_per_group(), 8), "threads of a block along output channels (threadIdx.z)", wl.k_per_group()},
        {"k_regs", KnobKind::Split, powers_covering(wl.k_per_group(), 8), "output channels per thread, k_threads apart (registers)", wl.k_per_group()},
        {"p_threads", KnobKind::Split, powers_covering(wl.p(), 4), "threads of a block along output rows (threadIdx.y)", wl.p()},
        {"q_threads", KnobKind::Split, powers_covering(wl.q(), 32), "threads of a block along output columns (threadIdx.x)", wl.q()},
        {"q_regs", KnobKind::Split, powers_covering(wl.q(), 8), "output columns per thread, q_threads apart (registers)", wl.q()},
        {"c_step", KnobKind::Split, divisors_up_to(wl.c_per_group(), 32), "input channels staged in shared memory per step"},
        {"order", KnobKind::Reorder, {0, 1}, "reduction order inside a step: 0 = c, r, s; 1 = r, s, c"},
        {"unroll_rs", KnobKind::Annotate, {0, 1}, "unroll the kernel's rows and columns"},
    });
  }

  /// About 256 threads, a 4 x 4 register tile where the layer is that large, the channel step
  /// that keeps the shared tiles within a quarter of what a block may hold (so that several
  /// blocks share a multiprocessor).
  Config default_config(const Workload& wl, const Target& target) const override {
    const KnobSpace s = space(wl, target);
    const auto knob = [&](const char* name) -> const std::vector<int64_t>& { return knob_values(s, name); };
    Config c;
    c["k_regs"] = at_most(knob("k_regs"), 4);
    c["k_threads"] = at_most(knob("k_threads"), std::max<int64_t>(1, std::min<int64_t>(8, ceil_div(wl.k_per_group(), c["k_regs"]))));
    c["q_regs"] = at_most(knob("q_regs"), wl.q() >= 32 ? 4 : wl.q() >= 8 ? 2 : 1);
    c["q_threads"] = at_most(knob("q_threads"), std::max<int64_t>(1, std::min<int64_t>(32, ceil_div(wl.q(), c["q_regs"]))));
    c["p_threads"] = at_most(knob("p_threads"), std::max<int64_t>(1, 256 / (c["k_threads"] * c["q_threads"])));
    c["order"] = 0;
    c["unroll_rs"] = wl.r * wl.s <= 9 ? 1 : 0;
    int64_t step = knob("c_step").front();
    for (int64_t ci : knob("c_step")) {
      c["c_step"] = ci;
      if (Tile(c).shared_floats(wl) <= kSharedFloats / 4) step = ci;
    }
    c["c_step"] = step;
    return c;
  }

  std::string algorithm(const Workload&, const Config&) const override { return "direct_conv_staged"; }

  std::vector<Step> steps(const Workload& wl, const KnobSpace&, const Config& config) const override {
    const Tile t(config);
    const bool grouped = wl.groups > 1;
    std::vector<Step> st = {Step::split("k", t.kt * t.ki, "ko", "k_in"), Step::split("k_in", t.kt, "ki", "kt"),
                            Step::split("p", t.pt, "po", "pt"),
                            Step::split("q", t.qt * t.qi, "qo", "q_in"), Step::split("q_in", t.qt, "qi", "qt"),
                            Step::split("c", t.ci, "co", "ci")};
    std::vector<std::string> loops = {"n"};
    if (grouped) loops.push_back("g");
    for (const char* l : {"ko", "po", "qo", "kt", "pt", "qt", "co"}) loops.push_back(l);
    const std::vector<std::string> step = knob_value(config, "order") == 0 ? std::vector<std::string>{"ci", "r", "s"}
                                                                           : std::vector<std::string>{"r", "s", "ci"};
    loops.insert(loops.end(), step.begin(), step.end());
    for (const char* l : {"ki", "qi"}) loops.push_back(l);
    st.push_back(Step::reorder(loops));
    fuse_block_index(grouped, st);
    st.push_back(Step::on_loop("cache_write", "qt"));
    st.push_back(Step::on_loop("unroll", "ki"));
    st.push_back(Step::on_loop("unroll", "qi"));
    if (knob_value(config, "unroll_rs")) {
      st.push_back(Step::on_loop("unroll", "r"));
      st.push_back(Step::on_loop("unroll", "s"));
    }
    st.push_back(Step::bind("block", "blockIdx.x"));
    st.push_back(Step::bind("po", "blockIdx.y"));
    st.push_back(Step::bind("qo", "blockIdx.z"));
    st.push_back(Step::bind("kt", "threadIdx.z"));
    st.push_back(Step::bind("pt", "threadIdx.y"));
    st.push_back(Step::bind("qt", "threadIdx.x"));
    st.push_back(Step::compute_at("input_padded", "conv", "co", "shared"));
    st.push_back(Step::compute_at("weights_staged", "conv", "co", "shared"));
    if (wl.has_bias()) append_elementwise("epilogue", st);
    return st;
  }

  std::vector<std::string> feature_names() const override {
    return {"log2_k_threads", "log2_k_regs", "log2_p_threads", "log2_q_threads", "log2_q_regs", "log2_c_step",
            "order", "unroll_rs", "log2_threads", "log2_blocks", "shared_kib", "k_util", "p_util", "q_util",
            "loads_per_fma"};
  }

  std::vector<double> features(const Workload& wl, const Target&, int, const Config& c) const override {
    const Tile t(c);
    const auto lg = nchwc::log2_at_least_1;
    const int64_t blocks = wl.n * wl.groups * ceil_div(wl.k_per_group(), t.kt * t.ki) * ceil_div(wl.p(), t.pt) *
                           ceil_div(wl.q(), t.qt * t.qi);
    return {lg(double(t.kt)), lg(double(t.ki)), lg(double(t.pt)), lg(double(t.qt)), lg(double(t.qi)), lg(double(t.ci)),
            double(knob_value(c, "order")), double(knob_value(c, "unroll_rs")), lg(double(t.threads())), lg(double(blocks)),
            double(t.shared_floats(wl)) * 4 / 1024, nchwc::utilisation(wl.k_per_group(), t.kt * t.ki),
            nchwc::utilisation(wl.p(), t.pt), nchwc::utilisation(wl.q(), t.qt * t.qi),
            double(t.ki + t.qi) / double(t.ki * t.qi)};
  }
};

} // namespace

std::unique_ptr<ScheduleTemplate> make_direct_template() { return std::make_unique<GpuDirectTemplate>(); }

} // namespace convtune::gpu
