/// \file A config as a feature vector for the cost model: its knob values (tile sizes in
/// log2), analytic features of the code it makes (register tile, vector-lane and tile
/// utilisation, working sets per cache level, trip counts, parallel balance), and a few of the
/// workload's own, so records of other layers can teach the model (transfer).
#pragma once

#include <string>
#include <vector>

#include "ir/workload.h"
#include "schedules/conv_template.h"
#include "targets/target.h"

namespace convtune {

/// The features of `config` for `wl` on `target` with `threads` threads. Every config of
/// one template gives a vector of the same length, with the same meaning for any workload.
std::vector<double> config_features(const Workload& wl, const Target& target, int threads, const Config& config);

/// The names of config_features' entries, for the same template (for dumps and tests).
std::vector<std::string> feature_names(const std::string& template_name);

} // namespace convtune
