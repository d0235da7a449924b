/// \file The Winograd template: F(m x m, 3 x 3) for 3x3 stride-1 convolutions (ir/algorithms.h),
/// its four stages scheduled. The main stage, one GEMM per tile element (xi, nu) summing over
/// the channels, is output-stationary like the direct template: a register tile of t_bn tiles x
/// (oc_bn / lanes) vectors of output channels, one broadcast of V times one vector of U per FMA,
/// the (n, g, xi, nu) GEMMs in parallel. The transforms keep a tile's alpha x alpha values in
/// registers (cache_write at the tile): the input transform vectorized along the input channels
/// of its own NCHW[x]c copy of the input (padding as zeros), the output transform along the
/// output channels of an NKPQ[y]k output.
#include <algorithm>

#include "ir/algorithms.h"
#include "ir/winograd.h"
#include "schedules/nchwc_common.h"

namespace convtune::nchwc {

namespace {

int64_t padded(int64_t channels, int64_t block) { return (channels + block - 1) / block * block; }

/// The input transform's channel blocks: the divisors of the channels up to 64, and, without
/// groups, the powers of two up to the vector's lanes that do not divide them (the channels
/// rounded up; a block past twice the channels would transform mostly zeros).
std::vector<int64_t> channel_blocks(const Workload& wl, const Target& target) {
  const int64_t c = wl.c_per_group();
  std::vector<int64_t> blocks = divisors_up_to(c, 64);
  if (wl.groups == 1) {
    for (int64_t b = 2; b <= target.vector_lanes() && b < 2 * c; b *= 2) {
      if (c % b != 0) blocks.push_back(b);
    }
  }
  std::sort(blocks.begin(), blocks.end());
  return blocks;
}

/// `step` applied to `stage` (empty: the main stage).
Step on(const std::string& stage, Step step) {
  step.stage = stage;
  return step;
}

class WinogradTemplate : public ScheduleTemplate {
public:
  const char* name() const override { return "winograd"; }
  int version() const override { return 1; }

  bool applies(const Workload& wl, const Target& target) const override {
    return target.kind == TargetKind::Cpu && winograd_applies(wl);
  }

  KnobSpace space(const Workload& wl, const Target& target) const override {
    std::vector<int64_t> tiles(winograd_tiles().begin(), winograd_tiles().end()), tb;
    // Up to 24 tiles in the register tile: with one U vector and one broadcast V, 32 registers
    // (16 on AVX2) hold the sums of oc_bn / lanes vectors for each.
    for (int64_t b = 1; b <= 24; ++b) tb.push_back(b);
    return space_of({
        {"tile", KnobKind::Choice, tiles, "output tile side m of F(m x m, 3 x 3): more saving, larger error bound"},
        {"oc_bn", KnobKind::Split, vector_multiples(wl, target), "output channels in the register tile (vector multiples)", wl.k_per_group()},
        {"ic_bn", KnobKind::Split, channel_blocks(wl, target),
         "input channels per vector of the input transform (one that does not divide them rounds the transform's channels up)"},
        {"t_bn", KnobKind::Split, tb, "tiles in the register tile"},
    });
  }

  Config default_config(const Workload& wl, const Target& target) const override {
    // F(4 x 4): 4x fewer multiplications than direct in the GEMMs, an error bound a few times
    // the direct one's (runtime/reference_conv.h); the register tile as the direct template's.
    const int64_t m = 4, tiles = ((wl.p() + m - 1) / m) * ((wl.q() + m - 1) / m);
    const RegisterTile t = default_register_tile(wl, target, tiles);
    // Channels no vector divides (67): a wider vector over channels rounded up, where that
    // transforms at most a quarter more of them.
    int64_t ic = t.ic;
    for (int64_t b : channel_blocks(wl, target)) {
      if (b > ic && wl.c_per_group() % b != 0 && padded(wl.c_per_group(), b) * 4 <= wl.c_per_group() * 5) ic = b;
    }
    return {{"tile", m}, {"oc_bn", t.oc}, {"ic_bn", ic}, {"t_bn", std::min<int64_t>(t.columns, 24)}};
  }

  std::string algorithm(const Workload& wl, const Config& config) const override {
    const int64_t ic = knob_value(config, "ic_bn");
    return "winograd_f" + std::to_string(knob_value(config, "tile")) + (wl.c_per_group() % ic != 0 ? "_c" + std::to_string(ic) : "");
  }

  std::vector<Step> steps(const Workload& wl, const KnobSpace&, const Config& config) const override {
    const int64_t oc = knob_value(config, "oc_bn"), ic = knob_value(config, "ic_bn"), tb = knob_value(config, "t_bn");
    const int64_t m = knob_value(config, "tile");
    const bool grouped = wl.groups > 1;
    std::vector<Step> st;
    const auto parallel = [&](const std::string& stage, std::vector<std::string> loops) {
      std::vector<Step> fused;
      parallel_over(fused, loops);
      for (Step& s : fused) st.push_back(on(stage, s));
    };
    const auto with_group = [&](std::vector<std::string> loops) {
      if (grouped) loops.insert(loops.begin() + 1, "g");
      return loops;
    };

    // The weights' transform (at pack time): a channel's alpha x alpha values of U in
    // registers, its 9 taps and the elements unrolled so that each coefficient
    // G[xi][i] G[nu][j] is a constant (the zeros drop out). Vectorized along the output
    // channels where oc_bn divides them: a tail's guard on the weights' reads would leave
    // every lane of every unrolled term a statement of its own.
    const std::string wt = "weights_transformed";
    if (wl.k % oc == 0) {
      st.push_back(on(wt, Step::split("k", oc, "ko", "ki")));
      st.push_back(on(wt, Step::reorder({"ko", "c", "i", "j", "xi", "nu", "ki"})));
      st.push_back(on(wt, Step::on_loop("cache_write", "c")));
      st.push_back(on(wt, Step::on_loop("vectorize", "ki")));
      parallel(wt, {"ko"});
    } else {
      st.push_back(on(wt, Step::reorder({"k", "c", "i", "j", "xi", "nu"})));
      st.push_back(on(wt, Step::on_loop("cache_write", "c")));
      parallel(wt, {"k"});
    }
    for (const char* l : {"i", "j", "xi", "nu"}) st.push_back(on(wt, Step::on_loop("unroll", l)));

    // The input's transform, vectorized along the input channels of an NCHW[ic_bn]c copy of
    // the input (its padding as zeros: no guards); a tile's alpha x alpha vectors of sums in
    // registers over its taps.
    const std::string it = "input_transformed";
    st.push_back(on(it, Step::pack_input(ic)));
    st.push_back(on(it, Step::split("c", ic, "co", "ci")));
    st.push_back(on(it, Step::reorder(with_group({"n", "co", "t", "xi", "i", "j", "nu", "ci"}))));
    st.push_back(on(it, Step::on_loop("cache_write", "xi")));
    st.push_back(on(it, Step::on_loop("vectorize", "ci")));
    st.push_back(on(it, Step::on_loop("unroll", "xi")));
    st.push_back(on(it, Step::on_loop("unroll", "nu")));
    st.push_back(on(it, Step::on_loop("unroll", "i")));
    st.push_back(on(it, Step::on_loop("unroll", "j")));
    parallel(it, with_group({"n", "co"}));

    // The GEMMs: output-stationary register tiles, the (n, g, xi, nu) GEMMs in parallel.
    st.push_back(Step::split("k", oc, "ko", "ki"));
    st.push_back(Step::split("t", tb, "to", "ti"));
    st.push_back(Step::reorder(with_group({"n", "xi", "nu", "ko", "to", "c", "ti", "ki"})));
    st.push_back(Step::on_loop("cache_write", "to"));
    st.push_back(Step::on_loop("vectorize", "ki"));
    st.push_back(Step::on_loop("unroll", "ti"));
    parallel("", with_group({"n", "xi", "nu"}));

    // The output's transform, vectorized along the output channels into an NKPQ[oc_bn]k output
    // (unpacked at the end, with the epilogue if there is one).
    const std::string ot = "output_transformed";
    st.push_back(on(ot, Step::pack_output(oc)));
    st.push_back(on(ot, Step::split("k", oc, "ko", "ki")));
    st.push_back(on(ot, Step::split("p", m, "pt", "pm")));
    st.push_back(on(ot, Step::split("q", m, "qt", "qm")));
    st.push_back(on(ot, Step::reorder(with_group({"n", "ko", "pt", "qt", "pm", "xi", "nu", "qm", "ki"}))));
    st.push_back(on(ot, Step::on_loop("cache_write", "pm")));
    st.push_back(on(ot, Step::on_loop("vectorize", "ki")));
    for (const char* l : {"pm", "xi", "nu", "qm"}) st.push_back(on(ot, Step::on_loop("unroll", l)));
    parallel(ot, with_group({"n", "ko", "pt"}));
    return st;
  }

  std::vector<std::string> feature_names() const override {
    return with_tile_feature_names({"tile", "log2_oc_bn", "log2_ic_bn", "log2_t_bn"});
  }

  std::vector<double> features(const Workload& wl, const Target& target, int threads, const Config& c) const override {
    const int64_t m = knob_value(c, "tile"), alpha = m + 2;
    TileShape t;
    t.oc = knob_value(c, "oc_bn");
    t.ic = knob_value(c, "ic_bn");
    t.ow = knob_value(c, "t_bn");
    t.channels = wl.k_per_group();
    t.chunks = wl.n * wl.groups * alpha * alpha;
    return with_tile_features({double(m), log2_at_least_1(double(t.oc)), log2_at_least_1(double(t.ic)), log2_at_least_1(double(t.ow))},
                              wl, target, threads, t);
  }
};

} // namespace

std::unique_ptr<ScheduleTemplate> make_winograd_template() { return std::make_unique<WinogradTemplate>(); }

} // namespace convtune::nchwc
