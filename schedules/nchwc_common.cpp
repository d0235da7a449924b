/// \file Helpers and tile features shared by the NCHWc templates.
#include "schedules/nchwc_common.h"

#include <algorithm>
#include <cmath>

namespace convtune::nchwc {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::vector<int64_t> divisors_up_to(int64_t n, int64_t limit) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i <= std::min(n, limit); ++i) {
    if (n % i == 0) d.push_back(i);
  }
  return d;
}

int64_t least_waste_block(int64_t extent, int64_t lo, int64_t hi) {
  hi = std::max<int64_t>(1, std::min(hi, extent));
  lo = std::max<int64_t>(1, std::min(lo, hi));
  int64_t best = hi, best_waste = -1;
  for (int64_t b = hi; b >= lo; --b) {
    int64_t waste = (extent + b - 1) / b * b - extent;
    if (best_waste < 0 || waste < best_waste) {
      best = b;
      best_waste = waste;
    }
  }
  return best;
}

std::vector<int64_t> width_blocks(const Workload& wl) {
  std::vector<int64_t> ow;
  for (int64_t b = 1; b <= std::min<int64_t>(wl.q(), kMaxTileColumns); ++b) ow.push_back(b);
  return ow;
}

std::vector<int64_t> height_blocks(const Workload& wl) {
  std::vector<int64_t> oh = {1};
  if (wl.p() >= 2) oh.push_back(2);
  return oh;
}

std::vector<int64_t> vector_multiples(const Workload& wl, const Target& target) {
  const int64_t lanes = target.vector_lanes();
  std::vector<int64_t> oc;
  for (int64_t m = 1; m <= 4; ++m) {
    if (m == 1 || (m - 1) * lanes < wl.k_per_group()) oc.push_back(m * lanes);
  }
  return oc;
}

RegisterTile default_register_tile(const Workload& wl, const Target& target, int64_t columns) {
  const int64_t lanes = target.vector_lanes(), channels = wl.k_per_group();
  RegisterTile best;
  double best_work = 0;
  for (const int64_t oc : vector_multiples(wl, target)) {
    const int64_t vecs = oc / lanes;
    if (vecs == 1 && channels > lanes) continue;
    // Accumulators: columns * vecs; plus vecs weight vectors and one broadcast in flight.
    // (One vector on AVX-512 leaves 30: more than the knob offers.)
    const int64_t most = std::min<int64_t>((target.vector_registers - vecs - 1) / vecs, kMaxTileColumns);
    if (most < 1) continue;
    for (int64_t cols = std::min(most, columns); cols >= 1; --cols) {
      const double work = utilisation(channels, oc) * utilisation(columns, cols) *
                          std::min(1.0, double(vecs * cols) / double(kEnoughAccumulators));
      if (work > best_work * (1 + 1e-9)) {
        best = {oc, cols, 0};
        best_work = work;
      }
    }
  }
  best.ic = divisors_up_to(wl.c_per_group(), 16).back();
  return best;
}

void parallel_over(std::vector<Step>& steps, const std::vector<std::string>& loops) {
  std::string fused = loops.front();
  for (size_t i = 1; i < loops.size(); ++i) {
    std::string next = fused + "_" + loops[i];
    steps.push_back(Step::fuse(fused, loops[i], next));
    fused = next;
  }
  steps.push_back(Step::on_loop("parallel", fused));
}

double log2_at_least_1(double v) { return std::log2(std::max(v, 1.0)); }

double utilisation(int64_t extent, int64_t block) { return double(extent) / double(ceil_div(extent, block) * block); }

std::vector<std::string> tile_feature_names() {
  return {"acc_vectors_per_register", "register_spill", "lane_util", "width_util", "height_util",
          "log2_l1_bytes", "log2_l2_bytes", "log2_inner_trips", "parallel_balance",
          "log2_parallel_chunks", "log2_c", "log2_k", "log2_pq", "stride", "log2_rs", "log2_groups", "log2_n", "dilation"};
}

std::vector<double> tile_features(const Workload& wl, const Target& target, int threads, const TileShape& t) {
  const int64_t lanes = target.vector_lanes();
  const int64_t regs = target.vector_registers;
  const auto lg = log2_at_least_1;
  // Registers: the accumulators, plus one weight (or input) vector per oc vector and a broadcast.
  const double acc_vectors = double(t.ow * t.oh * ceil_div(t.oc, lanes));
  const double live = acc_vectors + double(ceil_div(t.oc, lanes)) + 1;
  // Bytes touched per tile step (L1) and per output-channel block (L2).
  const int64_t block = t.depthwise ? t.oc : t.ic;
  const double in_tile = double(wl.rows_read(t.oh)) * double(wl.cols_read(t.ow)) * double(block) * 4;
  const double w_block = double(t.depthwise ? t.oc * wl.r * wl.s : t.ic * t.oc * wl.r * wl.s) * 4;
  const double l2 = double(t.depthwise ? t.oc * wl.r * wl.s : wl.c_per_group() * t.oc * wl.r * wl.s) * 4 +
                    double(wl.h + wl.pad_top + wl.pad_bottom) * double(wl.w + wl.pad_left + wl.pad_right) * double(block) * 4;
  const double inner = double(t.depthwise ? wl.r * wl.s : wl.c_per_group() * wl.r * wl.s);
  const double balance = double(t.chunks) / double(ceil_div(t.chunks, threads) * threads);
  return {acc_vectors / double(regs), std::max(0.0, live - double(regs)), utilisation(t.channels, t.oc),
          utilisation(wl.q(), t.ow), utilisation(wl.p(), t.oh), lg(in_tile + w_block), lg(l2), lg(inner), balance,
          lg(double(t.chunks)), lg(double(wl.c)), lg(double(wl.k)), lg(double(wl.p() * wl.q())),
          double(wl.stride_h), lg(double(wl.r * wl.s)), lg(double(wl.groups)), lg(double(wl.n)), double(wl.dilation_h)};
}

} // namespace convtune::nchwc

namespace convtune::nchwc {

std::vector<std::string> with_tile_feature_names(std::vector<std::string> own) {
  for (const std::string& n : tile_feature_names()) own.push_back(n);
  return own;
}

std::vector<double> with_tile_features(std::vector<double> own, const Workload& wl, const Target& target, int threads,
                                       const TileShape& tile) {
  for (double v : tile_features(wl, target, threads, tile)) own.push_back(v);
  return own;
}

} // namespace convtune::nchwc
