/// \file Given weights, pruning, and the pattern of nonzeros.
#include "ir/sparse.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>

#include "ir/error.h"
#include "ir/npy.h"

namespace convtune {

int64_t SparsePattern::nonzeros() const {
  int64_t n = 0;
  for (const auto& row : rows) n += int64_t(row.size());
  return n;
}

double SparsePattern::density() const { return double(nonzeros()) / double(k * c_per_group * r * s); }

int64_t SparsePattern::longest_row() const {
  int64_t longest = 0;
  for (const auto& row : rows) longest = std::max(longest, int64_t(row.size()));
  return longest;
}

std::vector<std::vector<int32_t>> SparsePattern::block_unions(int64_t block) const {
  std::vector<std::vector<int32_t>> unions;
  for (int64_t first = 0; first < k; first += block) {
    std::vector<int32_t> taps;
    for (int64_t row = first; row < std::min(k, first + block); ++row) taps.insert(taps.end(), rows[size_t(row)].begin(), rows[size_t(row)].end());
    std::sort(taps.begin(), taps.end());
    taps.erase(std::unique(taps.begin(), taps.end()), taps.end());
    unions.push_back(std::move(taps));
  }
  return unions;
}

std::string SparsePattern::digest() const {
  // FNV-1a, 64 bits, over the shape and each row's taps with its length.
  uint64_t h = 0xcbf29ce484222325ull;
  const auto mix = [&](uint64_t v) {
    for (int b = 0; b < 8; ++b) {
      h ^= (v >> (8 * b)) & 0xff;
      h *= 0x100000001b3ull;
    }
  };
  for (int64_t v : {k, c_per_group, r, s}) mix(uint64_t(v));
  for (const auto& row : rows) {
    mix(row.size());
    for (int32_t t : row) mix(uint64_t(uint32_t(t)));
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

SparsePattern pattern_of(const Workload& wl, const std::vector<float>& weights) {
  SparsePattern p;
  p.k = wl.k;
  p.c_per_group = wl.c_per_group();
  p.r = wl.r;
  p.s = wl.s;
  const int64_t taps = p.c_per_group * p.r * p.s;
  internal_check(int64_t(weights.size()) == p.k * taps, "pattern_of: weights of the wrong size");
  p.rows.resize(size_t(p.k));
  for (int64_t k = 0; k < p.k; ++k) {
    for (int64_t t = 0; t < taps; ++t) {
      if (weights[size_t(k * taps + t)] != 0.0f) p.rows[size_t(k)].push_back(int32_t(t));
    }
  }
  return p;
}

std::vector<float> pruned_weights(const Workload& wl, double sparsity, int64_t block) {
  const int64_t taps = wl.c_per_group() * wl.r * wl.s, count = wl.k * taps;
  // splitmix64 from a seed of the shape: the same weights for the same layer in every process.
  uint64_t state = 0x9e3779b97f4a7c15ull ^ uint64_t(count * 31 + wl.k);
  const auto next = [&] {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  std::vector<float> w(static_cast<size_t>(count));
  for (float& v : w) v = float(double(next() >> 11) * 0x1.0p-53 * 2.0 - 1.0);
  // Blocks of `block` output channels at one tap, ranked by their sum of magnitudes.
  const int64_t blocks = count / block;
  std::vector<double> mass(static_cast<size_t>(blocks), 0.0);
  const auto block_of = [&](int64_t i) { return (i / taps) / block * taps + i % taps; };
  for (int64_t i = 0; i < count; ++i) mass[size_t(block_of(i))] += std::fabs(w[size_t(i)]);
  const int64_t drop = std::min(blocks, int64_t(std::llround(sparsity * double(blocks))));
  std::vector<int64_t> order(static_cast<size_t>(blocks));
  for (int64_t b = 0; b < blocks; ++b) order[size_t(b)] = b;
  std::nth_element(order.begin(), order.begin() + drop, order.end(),
                   [&](int64_t a, int64_t b) { return mass[size_t(a)] < mass[size_t(b)] || (mass[size_t(a)] == mass[size_t(b)] && a < b); });
  std::vector<bool> dropped(static_cast<size_t>(blocks), false);
  for (int64_t i = 0; i < drop; ++i) dropped[size_t(order[size_t(i)])] = true;
  for (int64_t i = 0; i < count; ++i) {
    if (dropped[size_t(block_of(i))]) w[size_t(i)] = 0.0f;
  }
  return w;
}

namespace {

[[noreturn]] void refuse_file(const std::string& path, const std::string& what) {
  throw UserError("invalid weights file '" + path + "': " + what);
}

} // namespace

std::vector<float> read_weights_file(const Workload& wl, const std::string& path) {
  const int64_t expected = wl.k * wl.c_per_group() * wl.r * wl.s;
  const std::string shape_text = "(" + std::to_string(wl.k) + ", " + std::to_string(wl.c_per_group()) + ", " +
                                 std::to_string(wl.r) + ", " + std::to_string(wl.s) + ")";
  const FloatArray array = read_float_file(path, "invalid weights file '" + path + "'");
  if (array.npy && int64_t(array.values.size()) != expected) {
    refuse_file(path, "its shape " + array.shape_text + " holds " + std::to_string(array.values.size()) +
                          " floats; the layer's KCRS weights " + shape_text + " are " + std::to_string(expected));
  }
  if (int64_t(array.values.size()) != expected) {
    refuse_file(path, "it holds " + std::to_string(4 * array.values.size()) + " bytes of data; the layer's KCRS weights " + shape_text +
                          " are " + std::to_string(expected) + " floats (" + std::to_string(expected * 4) + " bytes)");
  }
  for (float v : array.values) {
    if (!std::isfinite(v)) refuse_file(path, "it holds a value that is not finite");
  }
  return array.values;
}

namespace {

/// What a process read or made, by what names it: files are read once, patterns found once.
struct WeightsCache {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<const std::vector<float>>> weights;
  /// Each pattern with its digest, hashed once (a tuning session's features ask per config).
  std::map<std::string, std::pair<std::shared_ptr<const SparsePattern>, std::string>> patterns;
};
WeightsCache& cache() {
  static WeightsCache c;
  return c;
}

/// The key of the weights themselves: their source and the layer's weight shape.
std::string source_key(const Workload& wl) {
  const std::string shape = std::to_string(wl.k) + "x" + std::to_string(wl.c_per_group()) + "x" + std::to_string(wl.r) + "x" + std::to_string(wl.s);
  if (!wl.weights.file.empty()) return "file:" + wl.weights.file + ":" + shape;
  char text[64];
  std::snprintf(text, sizeof text, "pruned:%.17g:%lld:", wl.weights.sparsity, static_cast<long long>(wl.weights.block));
  return text + shape;
}

} // namespace

const std::vector<float>& given_weights(const Workload& wl) {
  internal_check(wl.weights.given(), "given_weights of a workload without given weights");
  const std::string key = source_key(wl);
  WeightsCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto& slot = c.weights[key];
  if (!slot) {
    slot = std::make_shared<const std::vector<float>>(!wl.weights.file.empty() ? read_weights_file(wl, wl.weights.file)
                                                                              : pruned_weights(wl, wl.weights.sparsity, wl.weights.block));
  }
  return *slot;
}

const SparsePattern& sparse_pattern_of(const Workload& wl) {
  const std::vector<float>& w = given_weights(wl);
  const std::string key = source_key(wl);
  WeightsCache& c = cache();
  std::pair<std::shared_ptr<const SparsePattern>, std::string> found;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    found = c.patterns[key];
  }
  if (!found.first) {
    auto p = std::make_shared<const SparsePattern>(pattern_of(wl, w));
    found = {p, p->digest()};
    std::lock_guard<std::mutex> lock(c.mutex);
    c.patterns[key] = found;
  }
  const auto& [pattern, digest] = found;
  if (!wl.weights.digest.empty() && wl.weights.digest != digest) {
    throw UserError("weights " + (wl.weights.file.empty() ? std::string("pruned") : "'" + wl.weights.file + "'") + " have the pattern " +
                    digest + ", not the pattern " + wl.weights.digest + " the workload was tuned for");
  }
  return *pattern;
}

Workload with_weights_digest(Workload wl) {
  if (!wl.weights.given()) return wl;
  wl.weights.digest.clear();  // what the file holds now, whatever it held before
  wl.weights.digest = sparse_pattern_of(wl).digest();
  return wl;
}

} // namespace convtune
