/// \file Sampling and mutating configs of a knob space.
#include "tuner/candidate_pool.h"

#include <algorithm>
#include <iterator>

namespace convtune {

namespace {

/// Up to `count` distinct configs at positions [begin, begin + size) of `space`, none in `seen`.
std::vector<Config> sample_range(const KnobSpace& space, uint64_t begin, uint64_t size, const ConfigIndexSet& seen,
                                 size_t count, std::mt19937_64& rng) {
  std::vector<Config> out;
  const uint64_t seen_here = uint64_t(std::distance(seen.lower_bound(begin), seen.lower_bound(begin + size)));
  if (size <= 4 * count + seen_here) {
    std::vector<uint64_t> all;
    for (uint64_t i = begin; i < begin + size; ++i) {
      if (!seen.count(i)) all.push_back(i);
    }
    std::shuffle(all.begin(), all.end(), rng);
    if (all.size() > count) all.resize(count);
    for (uint64_t i : all) out.push_back(space.at(i));
    return out;
  }
  ConfigIndexSet taken;
  std::uniform_int_distribution<uint64_t> pick(begin, begin + size - 1);
  // The range is much larger than what is wanted, so rejection sampling ends quickly.
  while (out.size() < count) {
    uint64_t i = pick(rng);
    if (seen.count(i) || !taken.insert(i).second) continue;
    out.push_back(space.at(i));
  }
  return out;
}

} // namespace

std::vector<Config> sample_unseen(const KnobSpace& space, const ConfigIndexSet& seen, size_t count, std::mt19937_64& rng) {
  if (!space.is_union()) return sample_range(space, 0, space.size(), seen, count, rng);
  // An even share for each alternative, so that a large space does not drown a small one
  // (Winograd's few tile sizes next to the direct template's many tilings).
  std::vector<Config> out;
  const size_t n = space.alternatives.size();
  for (size_t i = 0; i < n; ++i) {
    const size_t share = (count + n - 1) / n;
    for (Config& c : sample_range(space, space.offset_of(i), space.alternatives[i].size(), seen, share, rng)) out.push_back(std::move(c));
  }
  std::shuffle(out.begin(), out.end(), rng);
  if (out.size() > count) out.resize(count);
  return out;
}

std::vector<Config> mutations(const KnobSpace& space, const Config& base, const ConfigIndexSet& seen,
                              int random_moves, std::mt19937_64& rng) {
  std::vector<Config> out;
  ConfigIndexSet taken;  // what this call already returned
  auto add = [&](const Config& c) {
    const uint64_t i = space.index_of(c);
    if (!seen.count(i) && taken.insert(i).second) out.push_back(c);
  };
  // A move of a union's template knob lands anywhere in the other alternative: the knobs of
  // one template mean nothing to another.
  const auto moved = [&](const Knob& k, int64_t value) {
    if (!space.is_union() || k.name != kTemplateKnob) {
      Config c = base;
      c[k.name] = value;
      return c;
    }
    const size_t alt = size_t(value);
    std::uniform_int_distribution<uint64_t> pick(0, space.alternatives[alt].size() - 1);
    return space.at(space.offset_of(alt) + pick(rng));
  };
  const std::vector<Knob> knobs = space.knobs_of(base);
  for (const Knob& k : knobs) {
    auto pos = std::find(k.values.begin(), k.values.end(), base.at(k.name)) - k.values.begin();
    for (long d : {-1L, 1L}) {
      long j = long(pos) + d;
      if (j < 0 || j >= long(k.values.size())) continue;
      add(moved(k, k.values[size_t(j)]));
    }
  }
  std::uniform_int_distribution<size_t> pick_knob(0, knobs.size() - 1);
  for (int m = 0; m < random_moves; ++m) {
    const Knob& k = knobs[pick_knob(rng)];
    std::uniform_int_distribution<size_t> pick_value(0, k.values.size() - 1);
    add(moved(k, k.values[pick_value(rng)]));
  }
  return out;
}

} // namespace convtune
