/// \file The sparse direct template: Park et al.'s direct sparse convolution (ICLR 2017) on the
/// layer's given weights. Each output channel has its own taps, so nothing is shared along
/// the output channels: the register tile runs along the output row instead, oh_bn rows of
/// ow_bn vectors of columns, and each nonzero is one broadcast value times one input vector
/// per accumulator, the input read straight at the tap's shift from a zero-padded copy.
#include "ir/sparse.h"
#include "schedules/nchwc_common.h"

namespace convtune::nchwc {

namespace {

class SparseDirectTemplate : public ScheduleTemplate {
public:
  const char* name() const override { return "sparse_direct"; }
  int version() const override { return 1; }

  /// Where the layer's weights are given: their pattern is what the kernel is compiled for.
  bool applies(const Workload& wl, const Target& target) const override {
    return target.kind == TargetKind::Cpu && wl.is_conv() && wl.weights.given();
  }

  std::string algorithm(const Workload&, const Config& config) const override {
    const int64_t block = knob_value(config, "c_bn");
    return block == 0 ? "sparse_direct" : "sparse_direct_c" + std::to_string(block);
  }

  KnobSpace space(const Workload& wl, const Target& target) const override {
    return space_of({
        {"c_bn", KnobKind::Split, channel_blocks(wl), "input channels per block of taps (0: one block of all)"},
        {"ow_bn", KnobKind::Split, row_blocks(wl, target), "output columns in the register tile (vector multiples)"},
        {"oh_bn", KnobKind::Split, {1, 2, 3, 4, 5, 6, 7, 8}, "output rows in the register tile"},
        {"order", KnobKind::Reorder, {0, 1},
         "0 = an output channel's row blocks in turn (its taps stay in cache), 1 = every channel of a row block in turn "
         "(the block's input rows stay in cache); the loops above the row block's columns run in parallel"},
    });
  }

  Config default_config(const Workload& wl, const Target& target) const override {
    // Two vectors of columns where a row holds them; as many rows as keep a quarter of the
    // registers for accumulators (more ran slower), cut to waste the fewest rows of the last
    // block. Every channel of a row block in turn, over blocks of 32 input channels: their
    // input rows stay in cache across every output channel, and each list runs to its own
    // length (what tuning chose on ResNet-18's 3x3 layers at 90% sparsity:
    // benchmarks/raw/sparse-trips-2026-11-30).
    const std::vector<int64_t> widths = row_blocks(wl, target);
    const int64_t ow = std::min<int64_t>(widths.back(), 2 * target.vector_lanes()), vectors = ow / target.vector_lanes();
    const int64_t rows = std::clamp<int64_t>(target.vector_registers / 4 / vectors, 1, 8);
    const int64_t oh = least_waste_block(wl.p(), 1, std::min<int64_t>(rows, wl.p()));
    return {{"c_bn", wl.c_per_group() > 32 ? 32 : 0}, {"ow_bn", ow}, {"oh_bn", oh}, {"order", 1}};
  }

  std::vector<Step> steps(const Workload& wl, const KnobSpace&, const Config& config) const override {
    const int64_t ow = knob_value(config, "ow_bn"), oh = knob_value(config, "oh_bn");
    const bool grouped = wl.groups > 1;
    // The algorithm reads a zero-padded copy of the input split by column phase (no guard on
    // a tap, a tap's columns contiguous at any stride). The columns' loop is one wide vector
    // (ow_bn / lanes registers).
    std::vector<Step> st = {Step::split("q", ow, "qo", "qi"), Step::split("p", oh, "po", "pi")};
    // Order 0: n, (g), k, po, qo | cb, j, pi, qi (the tile below qo holds every block's sums);
    // order 1: n, (g), po, qo, cb, k | j, pi, qi (a block's input rows serve every channel).
    const bool channels_outer = knob_value(config, "order") == 0;
    std::vector<std::string> loops = {"n"};
    if (grouped) loops.push_back("g");
    if (channels_outer) loops.insert(loops.end(), {"k", "po", "qo", "cb"});
    else loops.insert(loops.end(), {"po", "qo", "cb", "k"});
    for (const char* l : {"j", "pi", "qi"}) loops.push_back(l);
    st.push_back(Step::reorder(loops));
    // The accumulators: the tile of rows and columns below the innermost outer loop.
    st.push_back(Step::on_loop("cache_write", channels_outer ? "qo" : "k"));
    st.push_back(Step::on_loop("vectorize", "qi"));
    st.push_back(Step::on_loop("unroll", "pi"));
    std::vector<std::string> par = {"n"};
    if (grouped) par.push_back("g");
    if (channels_outer) par.push_back("k");
    par.push_back("po");
    parallel_over(st, par);
    // The values' gather (at pack time): one output channel's row after another.
    const auto on = [](Step s) {
      s.stage = "sparse_weights";
      return s;
    };
    st.push_back(on(Step::on_loop("parallel", "k")));
    return st;
  }

  std::vector<std::string> feature_names() const override {
    return with_tile_feature_names({"log2_c_bn", "log2_ow_bn", "log2_oh_bn", "order", "density", "column_util"});
  }

  std::vector<double> features(const Workload& wl, const Target& target, int threads, const Config& c) const override {
    TileShape t;
    t.ow = knob_value(c, "ow_bn");
    t.oh = knob_value(c, "oh_bn");
    t.oc = 1;
    t.channels = wl.k_per_group();
    const bool channels_outer = knob_value(c, "order") == 0;
    t.chunks = wl.n * wl.groups * ceil_div(wl.p(), t.oh) * (channels_outer ? wl.k_per_group() : 1);
    const double density = wl.weights.given() ? sparse_pattern_of(wl).density() : 1.0;
    const int64_t c_bn = knob_value(c, "c_bn");
    return with_tile_features({log2_at_least_1(double(c_bn == 0 ? wl.c_per_group() : c_bn)), log2_at_least_1(double(t.ow)),
                               log2_at_least_1(double(t.oh)),
                               double(knob_value(c, "order")), density, utilisation(wl.q(), t.ow)},
                              wl, target, threads, t);
  }

private:
  /// Channel blocks: 0 (all channels, one list per output channel), and 8, 16, 32, 64 below
  /// the group's channels.
  static std::vector<int64_t> channel_blocks(const Workload& wl) {
    std::vector<int64_t> out = {0};
    for (int64_t b : {8, 16, 32, 64}) {
      if (b < wl.c_per_group()) out.push_back(b);
    }
    return out;
  }

  /// 1, 2 or 4 vectors of columns, no wider than the algorithm's row of whole 16-column
  /// vectors (a block past it would be cut to another length). Not 3: rows are whole 16s, so
  /// 48 columns leave a long last tile (C2 at 90%: 1.19 ms against 0.65 with 32).
  static std::vector<int64_t> row_blocks(const Workload& wl, const Target& target) {
    std::vector<int64_t> out;
    const int64_t lanes = target.vector_lanes(), row = ceil_div(wl.q(), 16) * 16;
    for (int64_t v : {1, 2, 4}) {
      if (v == 1 || v * lanes <= row) out.push_back(v * lanes);
    }
    return out;
  }
};

} // namespace

std::unique_ptr<ScheduleTemplate> make_sparse_direct_template() { return std::make_unique<SparseDirectTemplate>(); }

} // namespace convtune::nchwc
