/// \file The GPU im2col + GEMM template: the im2col_gemm algorithm's GEMM tiled for a GPU, its
/// columns never written whole. The `columns` stage is computed at the GEMM's row-step loop in
/// shared memory (schedules/stage_placement "shared"): each step, the block's threads gather the
/// rows x columns tile of the im2col matrix they need straight from the input, zeros in the
/// padding, so the GEMM is an implicit one (as cuDNN's IMPLICIT_GEMM and TVM's conv2d on
/// tensor cores lower it). A block computes k_threads * k_regs output channels by
/// col_threads * col_regs output points (along p*Q + q) of one image and group; each thread a
/// k_regs x col_regs register tile, its channels k_threads apart and its points col_threads
/// apart, so a warp's threads read neighbouring shared words and store neighbouring outputs.
#include <algorithm>

#include "schedules/gpu_templates.h"
#include "schedules/nchwc_common.h"

namespace convtune::gpu {

namespace {

using nchwc::ceil_div;
using nchwc::divisors_up_to;

class GpuIm2colGemmTemplate : public ScheduleTemplate {
public:
  const char* name() const override { return "gpu_im2col_gemm"; }
  int version() const override { return 1; }

  bool applies(const Workload& wl, const Target& target) const override {
    return target.kind == TargetKind::Cuda && wl.is_conv();
  }

  /// The thread knobs multiply to at most 16 x 64 = 1024 threads: every config is a block the
  /// GPU can run (only shared memory can refuse one: row_step x the block's columns).
  KnobSpace space(const Workload& wl, const Target&) const override {
    const int64_t cols = wl.p() * wl.q(), rows = wl.c_per_group() * wl.r * wl.s;
    return space_of({
        {"k_threads", KnobKind::Split, powers_covering(wl.k_per_group(), 16), "threads of a block along output channels (threadIdx.y)", wl.k_per_group()},
        {"k_regs", KnobKind::Split, powers_covering(wl.k_per_group(), 8), "output channels per thread, k_threads apart (registers)", wl.k_per_group()},
        {"col_threads", KnobKind::Split, powers_covering(cols, 64), "threads of a block along output points p*Q + q (threadIdx.x)", cols},
        {"col_regs", KnobKind::Split, powers_covering(cols, 8), "output points per thread, col_threads apart (registers)", cols},
        {"row_step", KnobKind::Split, divisors_up_to(rows, 64), "rows of the im2col matrix (c*R*S) gathered into shared memory per step"},
    });
  }

  /// 256 threads where the layer has the work, a 4 x 4 register tile, the largest row step
  /// that keeps the block's columns within a quarter of what a block may hold.
  Config default_config(const Workload& wl, const Target& target) const override {
    const KnobSpace s = space(wl, target);
    Config c;
    c["k_regs"] = at_most(knob_values(s, "k_regs"), 4);
    c["k_threads"] = at_most(knob_values(s, "k_threads"), std::max<int64_t>(1, ceil_div(wl.k_per_group(), c["k_regs"])));
    c["col_regs"] = at_most(knob_values(s, "col_regs"), 4);
    c["col_threads"] = at_most(knob_values(s, "col_threads"), std::max<int64_t>(1, 256 / c["k_threads"]));
    const int64_t block_cols = c["col_threads"] * c["col_regs"];
    int64_t step = knob_values(s, "row_step").front();
    for (int64_t r : knob_values(s, "row_step")) {
      if (r * block_cols <= kSharedFloats / 4) step = r;
    }
    c["row_step"] = step;
    return c;
  }

  std::string algorithm(const Workload&, const Config&) const override { return "im2col_gemm"; }

  std::vector<Step> steps(const Workload& wl, const KnobSpace&, const Config& config) const override {
    const int64_t kt = knob_value(config, "k_threads"), ki = knob_value(config, "k_regs");
    const int64_t ct = knob_value(config, "col_threads"), ci = knob_value(config, "col_regs");
    std::vector<Step> st = {Step::split("k", kt * ki, "ko", "k_in"), Step::split("k_in", kt, "ki", "kt"),
                            Step::split("col", ct * ci, "colo", "col_in"), Step::split("col_in", ct, "coli", "colt"),
                            Step::split("row", knob_value(config, "row_step"), "ro", "ri")};
    std::vector<std::string> loops = {"n"};
    if (wl.groups > 1) loops.push_back("g");
    for (const char* l : {"ko", "colo", "kt", "colt", "ro", "ri", "ki", "coli"}) loops.push_back(l);
    st.push_back(Step::reorder(loops));
    fuse_block_index(wl.groups > 1, st);
    st.push_back(Step::on_loop("cache_write", "colt"));
    st.push_back(Step::on_loop("unroll", "ki"));
    st.push_back(Step::on_loop("unroll", "coli"));
    st.push_back(Step::bind("block", "blockIdx.x"));
    st.push_back(Step::bind("colo", "blockIdx.y"));
    st.push_back(Step::bind("kt", "threadIdx.y"));
    st.push_back(Step::bind("colt", "threadIdx.x"));
    st.push_back(Step::compute_at("columns", "gemm", "ro", "shared"));
    if (wl.has_bias()) append_elementwise("epilogue", st);
    return st;
  }

  std::vector<std::string> feature_names() const override {
    return {"log2_k_threads", "log2_k_regs", "log2_col_threads", "log2_col_regs", "log2_row_step", "log2_threads",
            "log2_blocks", "shared_kib", "k_util", "col_util", "loads_per_fma"};
  }

  std::vector<double> features(const Workload& wl, const Target&, int, const Config& c) const override {
    const int64_t kt = knob_value(c, "k_threads"), ki = knob_value(c, "k_regs");
    const int64_t ct = knob_value(c, "col_threads"), ci = knob_value(c, "col_regs"), rs = knob_value(c, "row_step");
    const int64_t cols = wl.p() * wl.q();
    const int64_t blocks = wl.n * wl.groups * ceil_div(wl.k_per_group(), kt * ki) * ceil_div(cols, ct * ci);
    const auto lg = nchwc::log2_at_least_1;
    return {lg(double(kt)), lg(double(ki)), lg(double(ct)), lg(double(ci)), lg(double(rs)), lg(double(kt * ct)),
            lg(double(blocks)), double(rs * ct * ci) * 4 / 1024, nchwc::utilisation(wl.k_per_group(), kt * ki),
            nchwc::utilisation(cols, ct * ci), double(ki + ci) / double(ki * ci)};
  }
};

} // namespace

std::unique_ptr<ScheduleTemplate> make_im2col_gemm_template() { return std::make_unique<GpuIm2colGemmTemplate>(); }

} // namespace convtune::gpu
