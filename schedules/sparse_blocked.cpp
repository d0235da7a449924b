/// \file The blocked sparse template: blocked CSR along output channels (ir/algorithms.h,
/// sparse_blocked) for weights pruned in blocks of output channels. A block of a vector's
/// lanes shares its taps, so each nonzero tap is one broadcast input value times one vector of
/// the block's weights, over a register tile of ow_bn x oh_bn output points: the dense direct
/// kernel's tile without the zero taps. Offered where the pattern is blocked: the union of
/// each aligned block's taps holds at most half again the nonzeros (on unstructured weights
/// it holds up to a block's width times them, and sparse_direct is the kernel).
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "ir/algorithms.h"
#include "ir/sparse.h"
#include "schedules/nchwc_common.h"

namespace convtune::nchwc {

namespace {

/// The weights the blocked kernel multiplies (each aligned block of `block` output channels
/// times the union of their taps) over the pattern's nonzeros (1: every block's channels share
/// their taps).
double count_union_ratio(const SparsePattern& pattern, int64_t block) {
  int64_t multiplied = 0, first = 0;
  for (const std::vector<int32_t>& taps : pattern.block_unions(block)) {
    multiplied += int64_t(taps.size()) * (std::min(pattern.k, first + block) - first);
    first += block;
  }
  const int64_t nonzeros = pattern.nonzeros();
  return nonzeros == 0 ? 1.0 : double(multiplied) / double(nonzeros);
}

/// count_union_ratio of `wl`'s given weights, counted once per pattern (its digest, which the
/// workload carries) and block: features() asks for every config of every proposal pool.
double union_ratio(const Workload& wl, int64_t block) {
  if (wl.weights.digest.empty()) return count_union_ratio(sparse_pattern_of(wl), block);
  static std::mutex mutex;
  static std::map<std::pair<std::string, int64_t>, double> known;
  const std::pair<std::string, int64_t> key = {wl.weights.digest, block};
  {
    const std::lock_guard<std::mutex> lock(mutex);
    if (const auto it = known.find(key); it != known.end()) return it->second;
  }
  const double ratio = count_union_ratio(sparse_pattern_of(wl), block);
  const std::lock_guard<std::mutex> lock(mutex);
  return known.emplace(key, ratio).first->second;
}

class SparseBlockedTemplate : public ScheduleTemplate {
public:
  const char* name() const override { return "sparse_blocked"; }
  int version() const override { return 1; }

  bool applies(const Workload& wl, const Target& target) const override {
    if (target.kind != TargetKind::Cpu || !wl.is_conv() || !wl.weights.given() || wl.groups != 1) return false;
    return union_ratio(wl, target.vector_lanes()) <= 1.5;
  }

  std::string algorithm(const Workload&, const Config& config) const override {
    const int64_t c = knob_value(config, "c_bn");
    return "sparse_blocked_k" + std::to_string(knob_value(config, "oc_bn")) + (c > 0 ? "_c" + std::to_string(c) : "");
  }

  KnobSpace space(const Workload& wl, const Target& target) const override {
    return space_of({
        {"oc_bn", KnobKind::Split, {target.vector_lanes()}, "output channels a block lists its taps for (one vector)"},
        {"c_bn", KnobKind::Split, channel_blocks(wl), "input channels per block of taps (0: one block of all)"},
        {"ow_bn", KnobKind::Split, width_blocks(wl), "output columns in the register tile", wl.q()},
        {"oh_bn", KnobKind::Split, height_blocks(wl), "output rows in the register tile", wl.p()},
        {"order", KnobKind::Reorder, {0, 1},
         "0 = a block of output channels' row blocks in turn (its taps stay in cache), 1 = every block of a row "
         "block in turn (the row block's input stays in cache)"},
    });
  }

  Config default_config(const Workload& wl, const Target& target) const override {
    // As many columns as registers remain after the weight vector and a broadcast (the dense
    // direct kernel's one-vector tile); channel blocks as sparse_direct's default.
    const RegisterTile t = default_register_tile(wl, target, wl.q());
    return {{"oc_bn", target.vector_lanes()}, {"c_bn", wl.c > 32 ? 32 : 0}, {"ow_bn", t.columns}, {"oh_bn", 1}, {"order", 0}};
  }

  std::vector<Step> steps(const Workload&, const KnobSpace&, const Config& config) const override {
    const int64_t ow = knob_value(config, "ow_bn"), oh = knob_value(config, "oh_bn");
    const bool blocks_outer = knob_value(config, "order") == 0;
    std::vector<Step> st = {Step::split("q", ow, "qo", "qi"), Step::split("p", oh, "po", "pi")};
    std::vector<std::string> loops = {"n"};
    if (blocks_outer) loops.insert(loops.end(), {"kb", "po", "qo", "cb"});
    else loops.insert(loops.end(), {"po", "qo", "cb", "kb"});
    for (const char* l : {"j", "pi", "qi", "ki"}) loops.push_back(l);
    st.push_back(Step::reorder(loops));
    st.push_back(Step::on_loop("cache_write", blocks_outer ? "qo" : "kb"));
    st.push_back(Step::on_loop("vectorize", "ki"));
    st.push_back(Step::on_loop("unroll", "qi"));
    st.push_back(Step::on_loop("unroll", "pi"));
    parallel_over(st, blocks_outer ? std::vector<std::string>{"n", "kb", "po"} : std::vector<std::string>{"n", "po"});
    Step gather = Step::on_loop("parallel", "kb");
    gather.stage = "sparse_weights";
    st.push_back(gather);
    return st;
  }

  std::vector<std::string> feature_names() const override {
    return with_tile_feature_names({"log2_c_bn", "log2_ow_bn", "log2_oh_bn", "order", "density", "union_ratio"});
  }

  std::vector<double> features(const Workload& wl, const Target& target, int threads, const Config& c) const override {
    TileShape t;
    t.oc = knob_value(c, "oc_bn");
    t.ow = knob_value(c, "ow_bn");
    t.oh = knob_value(c, "oh_bn");
    t.channels = wl.k;
    const bool blocks_outer = knob_value(c, "order") == 0;
    t.chunks = wl.n * ceil_div(wl.p(), t.oh) * (blocks_outer ? ceil_div(wl.k, t.oc) : 1);
    const int64_t c_bn = knob_value(c, "c_bn");
    return with_tile_features({log2_at_least_1(double(c_bn == 0 ? wl.c : c_bn)), log2_at_least_1(double(t.ow)),
                               log2_at_least_1(double(t.oh)), double(blocks_outer ? 0 : 1), sparse_pattern_of(wl).density(),
                               union_ratio(wl, t.oc)},
                              wl, target, threads, t);
  }

private:
  /// 0 (all channels), and 8, 16, 32, 64 below the layer's channels.
  static std::vector<int64_t> channel_blocks(const Workload& wl) {
    std::vector<int64_t> out = {0};
    for (int64_t b : {8, 16, 32, 64}) {
      if (b < wl.c) out.push_back(b);
    }
    return out;
  }
};

} // namespace

std::unique_ptr<ScheduleTemplate> make_sparse_blocked_template() { return std::make_unique<SparseBlockedTemplate>(); }

} // namespace convtune::nchwc
