/// \file Candidate configs for model-based searchers: uniform samples of the space not yet
/// seen, and one-knob mutations of the best configs so far.
#pragma once

#include <random>
#include <set>
#include <vector>

#include "schedules/schedule_template.h"

namespace convtune {

/// Configs by their position in the space, for seen-sets and deduplication.
using ConfigIndexSet = std::set<uint64_t>;

/// Up to `count` distinct configs of `space`, none in `seen`, uniformly at random. Small
/// spaces are enumerated instead of sampled.
std::vector<Config> sample_unseen(const KnobSpace& space, const ConfigIndexSet& seen, size_t count, std::mt19937_64& rng);

/// Every config that differs from `base` in one knob by one step of that knob's value list,
/// plus up to `random_moves` jumps of one knob to any value; none in `seen`.
std::vector<Config> mutations(const KnobSpace& space, const Config& base, const ConfigIndexSet& seen,
                              int random_moves, std::mt19937_64& rng);

} // namespace convtune
