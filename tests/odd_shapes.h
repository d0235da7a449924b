/// \file Test helper: seeded workloads of odd shapes, for checks meant to hold on every layer.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/workload.h"

namespace convtune::testing {

/// `count` valid workloads of odd shapes from a fixed seed: 1-2 images, 1-12 channels (groups
/// dividing them), 1-13 rows and columns, windows up to 4, strides up to 3, dilations up to 2,
/// each pad 0-3 independently. `suffix` is appended to each spec (op=..., epilogue=...).
inline std::vector<Workload> odd_shapes(int count, uint64_t seed, const std::string& suffix, bool pooling) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return int(rng() % uint64_t(hi - lo + 1)) + lo; };
  std::vector<Workload> out;
  while (int(out.size()) < count) {
    const int groups = pooling ? 1 : pick(1, 3);
    const int c = groups * pick(1, 4), k = pooling ? c : groups * pick(1, 5);
    std::string spec = "n=" + std::to_string(pick(1, 2)) + ",c=" + std::to_string(c) + ",h=" + std::to_string(pick(1, 13)) +
                       ",w=" + std::to_string(pick(1, 13)) + ",k=" + std::to_string(k) + ",r=" + std::to_string(pick(1, 4)) +
                       ",s=" + std::to_string(pick(1, 4)) + ",stride=" + std::to_string(pick(1, 3)) + ":" +
                       std::to_string(pick(1, 3)) + ",pad=" + std::to_string(pick(0, 3)) + ":" + std::to_string(pick(0, 3)) +
                       ":" + std::to_string(pick(0, 3)) + ":" + std::to_string(pick(0, 3)) +
                       ",dilation=" + std::to_string(pick(1, 2)) + ":" + std::to_string(pick(1, 2)) +
                       ",groups=" + std::to_string(groups) + suffix;
    try {
      out.push_back(parse_workload(spec));
    } catch (const UserError&) {
      // The window does not fit (or a pool's pad is too wide): draw again.
    }
  }
  return out;
}

} // namespace convtune::testing
