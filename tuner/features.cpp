/// \file Feature extraction, delegated to the template that fits the workload.
#include "tuner/features.h"

namespace convtune {

std::vector<double> config_features(const Workload& wl, const Target& target, int threads, const Config& config) {
  return template_for(wl, target).features(wl, target, threads, config);
}

std::vector<std::string> feature_names(const std::string& template_name) {
  return template_named(template_name).feature_names();
}

} // namespace convtune
