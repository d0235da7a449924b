/// \file Sampling and mutating configs of a knob space.
#include "tuner/candidate_pool.h"

#include <algorithm>

namespace convtune {

std::vector<Config> sample_unseen(const KnobSpace& space, const ConfigIndexSet& seen, size_t count, std::mt19937_64& rng) {
  const uint64_t size = space.size();
  std::vector<Config> out;
  if (size <= 4 * count + seen.size()) {
    std::vector<uint64_t> all;
    for (uint64_t i = 0; i < size; ++i) {
      if (!seen.count(i)) all.push_back(i);
    }
    std::shuffle(all.begin(), all.end(), rng);
    if (all.size() > count) all.resize(count);
    for (uint64_t i : all) out.push_back(space.at(i));
    return out;
  }
  ConfigIndexSet taken;
  std::uniform_int_distribution<uint64_t> pick(0, size - 1);
  // The space is much larger than what is wanted, so rejection sampling ends quickly.
  while (out.size() < count) {
    uint64_t i = pick(rng);
    if (seen.count(i) || !taken.insert(i).second) continue;
    out.push_back(space.at(i));
  }
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
  for (const Knob& k : space.knobs) {
    auto pos = std::find(k.values.begin(), k.values.end(), base.at(k.name)) - k.values.begin();
    for (long d : {-1L, 1L}) {
      long j = long(pos) + d;
      if (j < 0 || j >= long(k.values.size())) continue;
      Config c = base;
      c[k.name] = k.values[size_t(j)];
      add(c);
    }
  }
  std::uniform_int_distribution<size_t> pick_knob(0, space.knobs.size() - 1);
  for (int m = 0; m < random_moves; ++m) {
    const Knob& k = space.knobs[pick_knob(rng)];
    std::uniform_int_distribution<size_t> pick_value(0, k.values.size() - 1);
    Config c = base;
    c[k.name] = k.values[pick_value(rng)];
    add(c);
  }
  return out;
}

} // namespace convtune
