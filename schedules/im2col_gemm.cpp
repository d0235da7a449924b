/// \file The im2col + GEMM template: the input gathered into a matrix of columns (a layout
/// stage), then an output-stationary GEMM over it like the direct template's: weights packed
/// to KCRS[x]c[y]k, a register tile of col_bn output columns x (oc_bn / lanes) vector
/// accumulators, one broadcast column value times one weight vector per FMA. Its columns run
/// along p*Q + q, so a tile is never cut by a short row. Measured on ResNet-18's 1x1 layers it
/// stays below the direct template (benchmarks/raw/tune-1x1-2026-11-29): the row-major columns
/// cost a new cache line per reduction step of a tile.
#include "schedules/nchwc_common.h"

namespace convtune::nchwc {

namespace {

class Im2colGemmTemplate : public ScheduleTemplate {
public:
  const char* name() const override { return "im2col_gemm"; }
  int version() const override { return 1; }

  bool applies(const Workload& wl, const Target& target) const override {
    return target.kind == TargetKind::Cpu && wl.is_conv();
  }

  KnobSpace space(const Workload& wl, const Target& target) const override {
    const int64_t cols = wl.p() * wl.q();
    const std::vector<int64_t> oc = vector_multiples(wl, target);
    std::vector<int64_t> col;
    // Up to 30 columns: with one weight vector and one broadcast, 32 registers hold 30 sums.
    for (int64_t b = 1; b <= std::min<int64_t>(cols, 30); ++b) col.push_back(b);
    return space_of({
        {"oc_bn", KnobKind::Split, oc, "output channels in the register tile (vector multiples)", wl.k_per_group()},
        {"ic_bn", KnobKind::Split, divisors_up_to(wl.c_per_group(), 64), "input channels per packed weight block (rows step by ic_bn*r*s)"},
        {"col_bn", KnobKind::Split, col, "output columns (along p*Q + q) in the register tile", cols},
        {"chunk", KnobKind::Split, {0, 1, 4, 16},
         "column tiles per parallel chunk; 0 = none: the parallel loop is batch, groups and channel blocks only"},
    });
  }

  Config default_config(const Workload& wl, const Target& target) const override {
    const RegisterTile t = default_register_tile(wl, target, wl.p() * wl.q());
    // Chunks of 4 tiles: a starting point between parallel work and runs of one weight block
    // (tuned sessions pick 0 to 16; see the knob).
    return {{"oc_bn", t.oc}, {"ic_bn", t.ic}, {"col_bn", t.columns}, {"chunk", 4}};
  }

  std::string algorithm(const Workload&, const Config&) const override { return "im2col_gemm"; }

  std::vector<Step> steps(const Workload& wl, const KnobSpace&, const Config& config) const override {
    const int64_t oc = knob_value(config, "oc_bn"), ic = knob_value(config, "ic_bn"), col = knob_value(config, "col_bn");
    const bool grouped = wl.groups > 1;
    std::vector<Step> st = {Step::pack_weights(ic, oc), Step::pack_output(oc), Step::split("k", oc, "ko", "ki"),
                            Step::split("col", col, "colo", "coli"), Step::split("row", ic * wl.r * wl.s, "ro", "ri")};
    const int64_t chunk = knob_value(config, "chunk");
    // With chunks, the column tiles split again: chunks of `chunk` tiles join the parallel
    // loop, and the tiles of a chunk run in turn (the cache_write sits at the tile loop).
    const std::string tile = chunk ? "colt" : "colo";
    if (chunk) st.push_back(Step::split("colo", chunk, "colc", "colt"));
    std::vector<std::string> loops = {"n"};
    if (grouped) loops.push_back("g");
    loops.push_back("ko");
    if (chunk) loops.push_back("colc");
    for (const std::string& l : {tile, std::string("ro"), std::string("ri"), std::string("coli"), std::string("ki")}) loops.push_back(l);
    st.push_back(Step::reorder(loops));
    st.push_back(Step::on_loop("cache_write", tile));
    st.push_back(Step::on_loop("vectorize", "ki"));
    st.push_back(Step::on_loop("unroll", "coli"));
    std::vector<std::string> par = {"n"};
    if (grouped) par.push_back("g");
    par.push_back("ko");
    if (chunk) par.push_back("colc");
    parallel_over(st, par);
    return st;
  }

  std::vector<std::string> feature_names() const override {
    std::vector<std::string> names = {"log2_oc_bn", "log2_ic_bn", "log2_col_bn", "log2_chunk", "ic_util"};
    return with_tile_feature_names(std::move(names));
  }

  std::vector<double> features(const Workload& wl, const Target& target, int threads, const Config& c) const override {
    TileShape t;
    t.oc = knob_value(c, "oc_bn");
    t.ic = knob_value(c, "ic_bn");
    t.ow = knob_value(c, "col_bn");
    t.channels = wl.k_per_group();
    const int64_t chunk = knob_value(c, "chunk");
    const int64_t col_chunks = chunk ? ceil_div(ceil_div(wl.p() * wl.q(), t.ow), chunk) : 1;
    t.chunks = wl.n * wl.groups * ceil_div(wl.k_per_group(), t.oc) * col_chunks;
    const auto lg = log2_at_least_1;
    std::vector<double> f = {lg(double(t.oc)), lg(double(t.ic)), lg(double(t.ow)), lg(double(chunk)),
                             utilisation(wl.c_per_group(), t.ic)};
    return with_tile_features(std::move(f), wl, target, threads, t);
  }
};

} // namespace

std::unique_ptr<ScheduleTemplate> make_im2col_gemm_template() { return std::make_unique<Im2colGemmTemplate>(); }

} // namespace convtune::nchwc
