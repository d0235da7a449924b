/// \file The depthwise NCHWc template (one input channel per group): channels packed into
/// vector blocks, a register tile of output columns (and rows), one input vector times one
/// weight vector per FMA.
#include "schedules/nchwc_common.h"

namespace convtune::nchwc {

namespace {

class DepthwiseTemplate : public ScheduleTemplate {
public:
  const char* name() const override { return "depthwise_nchwc"; }
  // Version 2: the `parallel` knob.
  int version() const override { return 2; }

  bool applies(const Workload& wl, const Target& target) const override {
    return target.kind == TargetKind::Cpu && wl.is_conv() && wl.c_per_group() == 1 && wl.groups > 1;
  }

  KnobSpace space(const Workload& wl, const Target& target) const override {
    const int64_t lanes = target.vector_lanes();
    return space_of({
        {"ch_bn", KnobKind::Split, {lanes, 2 * lanes}, "channels per vector block"},
        {"ow_bn", KnobKind::Split, width_blocks(wl), "output columns in the register tile", wl.q()},
        {"oh_bn", KnobKind::Split, height_blocks(wl), "output rows in the register tile", wl.p()},
        {"unroll_kw", KnobKind::Annotate, {0, 1}, "unroll the kernel-width loop"},
        {"parallel", KnobKind::Choice, {0, 1},
         "parallel loop: 0 = batch, channel blocks and row blocks fused; 1 = batch and channel blocks"},
    });
  }

  Config default_config(const Workload& wl, const Target& target) const override {
    // Each tile column holds one accumulator; keep a few registers for inputs and weights.
    const int regs = target.vector_registers;
    const int64_t ow = least_waste_block(wl.q(), (regs - 4) / 2, regs - 4);
    return {{"ch_bn", target.vector_lanes()}, {"ow_bn", ow}, {"oh_bn", 1}, {"unroll_kw", 1}, {"parallel", 0}};
  }

  std::vector<Step> steps(const Workload&, const KnobSpace&, const Config& config) const override {
    const int64_t ch = knob_value(config, "ch_bn"), ow = knob_value(config, "ow_bn"), oh = knob_value(config, "oh_bn");
    const bool rows_parallel = knob_value(config, "parallel") == 0;
    std::vector<Step> st = {Step::pack_input(ch), Step::pack_weights(1, ch), Step::pack_output(ch),
                            Step::split("g", ch, "go", "gi"), Step::split("q", ow, "qo", "qi"),
                            Step::split("p", oh, "po", "pi"),
                            Step::reorder({"n", "go", "k", "po", "qo", "c", "r", "s", "pi", "qi", "gi"}),
                            Step::on_loop("cache_write", "qo"), Step::on_loop("vectorize", "gi"),
                            Step::on_loop("unroll", "qi"), Step::on_loop("unroll", "pi")};
    if (knob_value(config, "unroll_kw")) st.push_back(Step::on_loop("unroll", "s"));
    parallel_over(st, rows_parallel ? std::vector<std::string>{"n", "go", "k", "po"} : std::vector<std::string>{"n", "go", "k"});
    return st;
  }

  std::vector<std::string> feature_names() const override {
    std::vector<std::string> names = {"log2_ch_bn", "log2_ow_bn", "log2_oh_bn", "unroll_kw", "parallel"};
    return with_tile_feature_names(std::move(names));
  }

  std::vector<double> features(const Workload& wl, const Target& target, int threads, const Config& c) const override {
    TileShape t;
    t.depthwise = true;
    t.oc = knob_value(c, "ch_bn");
    t.ow = knob_value(c, "ow_bn");
    t.oh = knob_value(c, "oh_bn");
    t.channels = wl.groups;
    const int64_t row_chunks = knob_value(c, "parallel") == 0 ? ceil_div(wl.p(), t.oh) : 1;
    t.chunks = wl.n * ceil_div(wl.groups, t.oc) * wl.k_per_group() * row_chunks;
    const auto lg = log2_at_least_1;
    std::vector<double> f = {lg(double(t.oc)), lg(double(t.ow)), lg(double(t.oh)), double(knob_value(c, "unroll_kw")),
                             double(knob_value(c, "parallel"))};
    return with_tile_features(std::move(f), wl, target, threads, t);
  }
};

} // namespace

std::unique_ptr<ScheduleTemplate> make_depthwise_template() { return std::make_unique<DepthwiseTemplate>(); }

} // namespace convtune::nchwc
