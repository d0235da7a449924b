/// \file Feature extraction: a small analytic model of the direct and depthwise templates.
#include "tuner/features.h"

#include <cmath>

namespace convtune {

namespace {

double lg(double v) { return std::log2(std::max(v, 1.0)); }

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// How much of the padded-up extent is real work: extent / (ceil(extent/block)*block).
double utilisation(int64_t extent, int64_t block) { return double(extent) / double(ceil_div(extent, block) * block); }

int64_t knob(const Config& c, const char* name) {
  auto it = c.find(name);
  return it == c.end() ? 1 : it->second;
}

} // namespace

std::vector<std::string> feature_names(const std::string& template_name) {
  std::vector<std::string> names;
  if (template_name == "depthwise_nchwc") {
    names = {"log2_ch_bn", "log2_ow_bn", "log2_oh_bn", "unroll_kw", "parallel"};
  } else {
    names = {"log2_oc_bn", "log2_ic_bn", "log2_ow_bn", "log2_oh_bn", "order", "unroll_kw", "parallel", "ic_util"};
  }
  for (const char* n : {"acc_vectors_per_register", "register_spill", "lane_util", "width_util", "height_util",
                        "log2_l1_bytes", "log2_l2_bytes", "log2_inner_trips", "parallel_balance",
                        "log2_parallel_chunks", "log2_c", "log2_k", "log2_pq", "stride"}) {
    names.push_back(n);
  }
  return names;
}

std::vector<double> config_features(const Workload& wl, const Target& target, int threads, const Config& c) {
  const int64_t lanes = target.vector_lanes();
  const int64_t regs = target.vector_registers;
  const bool depthwise = template_for(wl) == "depthwise_nchwc";
  const int64_t ow = knob(c, "ow_bn"), oh = knob(c, "oh_bn");
  std::vector<double> f;
  int64_t oc = 0, ic = 1, channels = 0, chunks = 0;
  // With parallel = 1 the row blocks are not part of the parallel loop.
  const int64_t row_chunks = knob(c, "parallel") == 0 ? ceil_div(wl.p(), oh) : 1;
  if (depthwise) {
    oc = knob(c, "ch_bn");
    channels = wl.groups;
    f = {lg(double(oc)), lg(double(ow)), lg(double(oh)), double(knob(c, "unroll_kw")), double(knob(c, "parallel"))};
    chunks = wl.n * ceil_div(wl.groups, oc) * wl.k_per_group() * row_chunks;
  } else {
    oc = knob(c, "oc_bn");
    ic = knob(c, "ic_bn");
    channels = wl.k_per_group();
    f = {lg(double(oc)), lg(double(ic)), lg(double(ow)), lg(double(oh)), double(knob(c, "order")),
         double(knob(c, "unroll_kw")), double(knob(c, "parallel")), utilisation(wl.c_per_group(), ic)};
    chunks = wl.n * wl.groups * ceil_div(wl.k_per_group(), oc) * row_chunks;
  }
  // Registers: the accumulators, plus one weight (or input) vector per oc vector and a broadcast.
  const double acc_vectors = double(ow * oh * ceil_div(oc, lanes));
  const double live = acc_vectors + double(ceil_div(oc, lanes)) + 1;
  // Bytes touched per tile step (L1) and per output-channel block (L2).
  const double in_tile = double((oh - 1) * wl.stride_h + (wl.r - 1) * wl.dilation_h + 1) *
                         double((ow - 1) * wl.stride_w + (wl.s - 1) * wl.dilation_w + 1) * double(depthwise ? oc : ic) * 4;
  const double w_block = double(depthwise ? oc * wl.r * wl.s : ic * oc * wl.r * wl.s) * 4;
  const double l2 = double(depthwise ? oc * wl.r * wl.s : wl.c_per_group() * oc * wl.r * wl.s) * 4 +
                    double(wl.h + wl.pad_top + wl.pad_bottom) * double(wl.w + wl.pad_left + wl.pad_right) * double(depthwise ? oc : ic) * 4;
  const double inner = double(depthwise ? wl.r * wl.s : wl.c_per_group() * wl.r * wl.s);
  const double balance = double(chunks) / double(ceil_div(chunks, threads) * threads);
  f.insert(f.end(), {acc_vectors / double(regs), std::max(0.0, live - double(regs)), utilisation(channels, oc),
                     utilisation(wl.q(), ow), utilisation(wl.p(), oh), lg(in_tile + w_block), lg(l2), lg(inner), balance,
                     lg(double(chunks)), lg(double(wl.c)), lg(double(wl.k)), lg(double(wl.p() * wl.q())),
                     double(wl.stride_h)});
  return f;
}

} // namespace convtune
