/// \file The pooling template: max and average pooling on NCHW[x]c blocks, like the depthwise
/// template. The input packed into channel blocks with its padding as the fold's identity
/// (-infinity for a max, zero for a sum), a register tile of ow_bn output columns of one
/// channel vector each, the window's taps inside it; for an average, the division runs inside
/// the result's unpacking.
#include "schedules/nchwc_common.h"

namespace convtune::nchwc {

namespace {

class PoolTemplate : public ScheduleTemplate {
public:
  const char* name() const override { return "pool_nchwc"; }
  int version() const override { return 1; }

  bool applies(const Workload& wl, const Target& target) const override {
    return target.kind == TargetKind::Cpu && wl.is_pool();
  }

  KnobSpace space(const Workload& wl, const Target& target) const override {
    const int64_t lanes = target.vector_lanes();
    return space_of({
        {"ch_bn", KnobKind::Split, {lanes, 2 * lanes}, "channels per vector block"},
        {"ow_bn", KnobKind::Split, width_blocks(wl), "output columns in the register tile", wl.q()},
        {"unroll_kw", KnobKind::Annotate, {0, 1}, "unroll the window-width loop"},
        {"parallel", KnobKind::Choice, {0, 1}, "parallel loop: 0 = batch, channel blocks and rows fused; 1 = without rows"},
    });
  }

  Config default_config(const Workload& wl, const Target& target) const override {
    // One accumulator a column; a few registers stay for the taps in flight.
    const int regs = target.vector_registers;
    const int64_t ow = least_waste_block(wl.q(), (regs - 4) / 2, std::min<int64_t>(regs - 4, 28));
    return {{"ch_bn", target.vector_lanes()}, {"ow_bn", ow}, {"unroll_kw", 1}, {"parallel", 0}};
  }

  std::vector<Step> steps(const Workload&, const KnobSpace&, const Config& config) const override {
    const int64_t ch = knob_value(config, "ch_bn"), ow = knob_value(config, "ow_bn");
    std::vector<Step> st = {Step::pack_input(ch),
                            Step::pack_output(ch),
                            Step::split("c", ch, "co", "ci"),
                            Step::split("q", ow, "qo", "qi"),
                            Step::reorder({"n", "co", "p", "qo", "r", "s", "qi", "ci"}),
                            Step::on_loop("cache_write", "qo"),
                            Step::on_loop("vectorize", "ci"),
                            Step::on_loop("unroll", "qi")};
    if (knob_value(config, "unroll_kw")) st.push_back(Step::on_loop("unroll", "s"));
    parallel_over(st, knob_value(config, "parallel") == 0 ? std::vector<std::string>{"n", "co", "p"}
                                                           : std::vector<std::string>{"n", "co"});
    return st;
  }

  std::vector<std::string> feature_names() const override {
    std::vector<std::string> names = {"log2_ch_bn", "log2_ow_bn", "unroll_kw", "parallel"};
    return with_tile_feature_names(std::move(names));
  }

  std::vector<double> features(const Workload& wl, const Target& target, int threads, const Config& c) const override {
    TileShape t;
    t.depthwise = true;  // one channel vector a column, like a depthwise tile
    t.oc = knob_value(c, "ch_bn");
    t.ow = knob_value(c, "ow_bn");
    t.channels = wl.c;
    t.chunks = wl.n * ceil_div(wl.c, t.oc) * (knob_value(c, "parallel") == 0 ? wl.p() : 1);
    const auto lg = log2_at_least_1;
    std::vector<double> f = {lg(double(t.oc)), lg(double(t.ow)), double(knob_value(c, "unroll_kw")),
                             double(knob_value(c, "parallel"))};
    return with_tile_features(std::move(f), wl, target, threads, t);
  }
};

} // namespace

std::unique_ptr<ScheduleTemplate> make_pool_template() { return std::make_unique<PoolTemplate>(); }

} // namespace convtune::nchwc
