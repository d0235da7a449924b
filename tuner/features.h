/// \file A config as a feature vector for the cost model: what the template that fits the
/// workload says of it (its knob values, analytic features of the code it makes, a few of the
/// workload's own, so records of other layers can teach the model).
#pragma once

#include <string>
#include <vector>

#include "ir/workload.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"

namespace convtune {

/// The features of `config` for `wl` on `target` with `threads` threads. Every config of
/// one template gives a vector of the same length, with the same meaning for any workload.
std::vector<double> config_features(const Workload& wl, const Target& target, int threads, const Config& config);

/// The names of config_features' entries for the template `template_name`.
std::vector<std::string> feature_names(const std::string& template_name);

} // namespace convtune
