/// \file The direct NCHWc template for dense and grouped convolutions.
///
/// It follows the output-stationary structure of Georganas et al. (SC'18) and TVM's x86 NCHWc
/// template: all three tensors packed into channel blocks, a register tile of ow_bn x
/// (oc_bn / lanes) vector accumulators, the input-channel and kernel-tap loops inside it, one
/// broadcast input value times one weight vector per FMA.
#include "schedules/nchwc_common.h"

namespace convtune::nchwc {

namespace {

class DirectTemplate : public ScheduleTemplate {
public:
  const char* name() const override { return "direct_nchwc"; }
  // Version 2: the `parallel` knob.
  int version() const override { return 2; }

  bool applies(const Workload& wl, const Target& target) const override {
    return target.kind == TargetKind::Cpu && wl.is_conv() && !(wl.c_per_group() == 1 && wl.groups > 1);
  }

  KnobSpace space(const Workload& wl, const Target& target) const override {
    const std::vector<int64_t> oc = vector_multiples(wl, target);
    return space_of({
        {"oc_bn", KnobKind::Split, oc, "output channels in the register tile (vector multiples)", wl.k_per_group()},
        {"ic_bn", KnobKind::Split, divisors_up_to(wl.c_per_group(), 64), "input channels per packed block"},
        {"ow_bn", KnobKind::Split, width_blocks(wl), "output columns in the register tile", wl.q()},
        {"oh_bn", KnobKind::Split, height_blocks(wl), "output rows in the register tile", wl.p()},
        {"order", KnobKind::Reorder, {0, 1}, "reduction order: 0 = c-block, r, s, c; 1 = r, s, c-block, c"},
        {"unroll_kw", KnobKind::Annotate, {0, 1}, "unroll the kernel-width loop"},
        {"parallel", KnobKind::Choice, {0, 1},
         "parallel loop: 0 = batch, groups, channel blocks and row blocks fused; 1 = without row blocks"},
    });
  }

  Config default_config(const Workload& wl, const Target& target) const override {
    const RegisterTile t = default_register_tile(wl, target, wl.q());
    return {{"oc_bn", t.oc}, {"ic_bn", t.ic}, {"ow_bn", t.columns}, {"oh_bn", 1}, {"order", 0}, {"unroll_kw", 0},
            {"parallel", 0}};
  }

  std::vector<Step> steps(const Workload& wl, const KnobSpace&, const Config& config) const override {
    const int64_t ow = knob_value(config, "ow_bn"), oh = knob_value(config, "oh_bn");
    const int64_t oc = knob_value(config, "oc_bn"), ic = knob_value(config, "ic_bn"), order = knob_value(config, "order");
    // The row blocks stay serial inside each thread's share when `parallel` is 1.
    const bool rows_parallel = knob_value(config, "parallel") == 0;
    const bool grouped = wl.groups > 1;
    std::vector<Step> st = {Step::pack_input(ic), Step::pack_weights(ic, oc), Step::pack_output(oc),
                            Step::split("k", oc, "ko", "ki"), Step::split("c", ic, "co", "ci"),
                            Step::split("q", ow, "qo", "qi"), Step::split("p", oh, "po", "pi")};
    std::vector<std::string> loops = {"n"};
    if (grouped) loops.push_back("g");
    for (const char* l : {"ko", "po", "qo"}) loops.push_back(l);
    const std::vector<std::string> reduction = order == 0 ? std::vector<std::string>{"co", "r", "s", "ci"}
                                                          : std::vector<std::string>{"r", "s", "co", "ci"};
    loops.insert(loops.end(), reduction.begin(), reduction.end());
    for (const char* l : {"pi", "qi", "ki"}) loops.push_back(l);
    st.push_back(Step::reorder(loops));
    st.push_back(Step::on_loop("cache_write", "qo"));
    st.push_back(Step::on_loop("vectorize", "ki"));
    st.push_back(Step::on_loop("unroll", "qi"));
    st.push_back(Step::on_loop("unroll", "pi"));
    if (knob_value(config, "unroll_kw")) st.push_back(Step::on_loop("unroll", "s"));
    std::vector<std::string> par = {"n"};
    if (grouped) par.push_back("g");
    par.push_back("ko");
    if (rows_parallel) par.push_back("po");
    parallel_over(st, par);
    return st;
  }

  std::vector<std::string> feature_names() const override {
    std::vector<std::string> names = {"log2_oc_bn", "log2_ic_bn", "log2_ow_bn", "log2_oh_bn", "order", "unroll_kw", "parallel", "ic_util"};
    return with_tile_feature_names(std::move(names));
  }

  std::vector<double> features(const Workload& wl, const Target& target, int threads, const Config& c) const override {
    TileShape t;
    t.oc = knob_value(c, "oc_bn");
    t.ic = knob_value(c, "ic_bn");
    t.ow = knob_value(c, "ow_bn");
    t.oh = knob_value(c, "oh_bn");
    t.channels = wl.k_per_group();
    // With parallel = 1 the row blocks are not part of the parallel loop.
    const int64_t row_chunks = knob_value(c, "parallel") == 0 ? ceil_div(wl.p(), t.oh) : 1;
    t.chunks = wl.n * wl.groups * ceil_div(wl.k_per_group(), t.oc) * row_chunks;
    const auto lg = log2_at_least_1;
    std::vector<double> f = {lg(double(t.oc)), lg(double(t.ic)), lg(double(t.ow)), lg(double(t.oh)),
                             double(knob_value(c, "order")), double(knob_value(c, "unroll_kw")),
                             double(knob_value(c, "parallel")), utilisation(wl.c_per_group(), t.ic)};
    return with_tile_features(std::move(f), wl, target, threads, t);
  }
};

} // namespace

std::unique_ptr<ScheduleTemplate> make_direct_template() { return std::make_unique<DirectTemplate>(); }

} // namespace convtune::nchwc
