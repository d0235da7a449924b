/// \file The CPU direct-convolution templates: a Config (knob values) turned into a Schedule.
///
/// `direct_nchwc` (dense and grouped convolutions) follows the output-stationary structure of
/// Georganas et al. (SC'18) and TVM's x86 NCHWc template: all three tensors packed into
/// channel blocks, a register tile of ow_bn x (oc_bn / lanes) vector accumulators, the
/// input-channel and kernel-tap loops inside it, one broadcast input value times one weight
/// vector per FMA. `depthwise_nchwc` (one input channel per group) vectorizes over channels
/// instead: one input vector times one weight vector per FMA.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/workload.h"
#include "schedules/schedule.h"
#include "targets/target.h"

namespace convtune {

/// A knob: a name and the values it may take.
struct Knob {
  std::string name;
  std::vector<int64_t> values;
  std::string help;
};

using Config = std::map<std::string, int64_t>;

/// The space of a template for one workload on one target: the product of its knobs.
struct KnobSpace {
  std::string template_name;
  /// Bumped when the templates' knobs or their meaning change: configs recorded under an
  /// older version are not this version's trials. Version 2: the `parallel` knob.
  int template_version = 2;
  std::vector<Knob> knobs;

  /// How many configs the space holds (the product of the knobs' sizes).
  uint64_t size() const;
  /// The config at a position in [0, size()), knobs varying fastest last (mixed radix).
  Config at(uint64_t index) const;
  /// The position of a config; UserError naming the knob when a value is not in the space.
  uint64_t index_of(const Config& config) const;
};

/// The template that fits the workload: depthwise_nchwc when every group has one input
/// channel, direct_nchwc otherwise.
std::string template_for(const Workload& wl);

KnobSpace knob_space(const Workload& wl, const Target& target);

/// A config from a simple model of the target (register count, vector width), no measuring:
/// what `run` uses and where the tuner starts.
Config default_config(const Workload& wl, const Target& target);

/// The schedule a config stands for. UserError naming the knob when the config is not in the space.
Schedule make_schedule(const Workload& wl, const Target& target, const Config& config);
/// The same with the space already built (the tuner builds it once per layer).
Schedule make_schedule(const Workload& wl, const KnobSpace& space, const Config& config);

nlohmann::json config_to_json(const Config& config);
Config config_from_json(const nlohmann::json& j);

} // namespace convtune

namespace convtune {

/// What `--schedule` names: "default" (the default config), "naive" (no schedule: empty
/// steps), or a file holding a schedule or a config.
Schedule resolve_schedule(const std::string& what, const Workload& wl, const Target& target);

} // namespace convtune
