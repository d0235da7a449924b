/// \file Schedule templates and their registry. A template turns a config (a point of its knob
/// space) into a schedule for the workloads it applies to; it owns its knobs, its version, its
/// default config (a model of the target, no measuring) and the features the cost model reads.
/// The tuner picks a template's space from the registry and never compares template names.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/workload.h"
#include "schedules/knob_space.h"
#include "schedules/schedule.h"
#include "targets/target.h"

namespace convtune {

class ScheduleTemplate {
public:
  virtual ~ScheduleTemplate() = default;
  virtual const char* name() const = 0;
  /// Bumped when the knobs or their meaning change: older records are not this version's trials.
  virtual int version() const = 0;
  /// Whether the template can schedule `wl` on `target`.
  virtual bool applies(const Workload& wl, const Target& target) const = 0;
  /// The knobs for `wl` on `target` (name and version filled in).
  virtual KnobSpace space(const Workload& wl, const Target& target) const = 0;
  virtual Config default_config(const Workload& wl, const Target& target) const = 0;
  /// The algorithm whose main stage the steps of `config` schedule (ir/algorithms.h); empty:
  /// the workload's own.
  virtual std::string algorithm(const Workload& wl, const Config& config) const {
    (void)wl, (void)config;
    return "";
  }
  /// The steps a config stands for; the config was checked against `space` already.
  virtual std::vector<Step> steps(const Workload& wl, const KnobSpace& space, const Config& config) const = 0;
  /// The cost model's view of a config: the same length and meaning for every workload.
  virtual std::vector<std::string> feature_names() const = 0;
  virtual std::vector<double> features(const Workload& wl, const Target& target, int threads,
                                       const Config& config) const = 0;

protected:
  /// A space of these knobs with this template's name and version.
  KnobSpace space_of(std::vector<Knob> knobs) const;
};

/// Every template, in the order template_for tries them (the more specific first).
const std::vector<std::unique_ptr<ScheduleTemplate>>& template_registry();
/// The template named `name`; UserError naming it when there is none.
const ScheduleTemplate& template_named(const std::string& name);
/// The first template that applies to `wl` on `target` (the registry lists the default
/// choice of each kind of layer first); UserError when none does.
const ScheduleTemplate& template_for(const Workload& wl, const Target& target);
/// The same, or nullptr when none applies.
const ScheduleTemplate* find_template(const Workload& wl, const Target& target);
/// The template named `name`, which must apply to `wl` on `target`; UserError naming it otherwise.
const ScheduleTemplate& template_named_for(const std::string& name, const Workload& wl, const Target& target);

// The template that fits, used the common way.
KnobSpace knob_space(const Workload& wl, const Target& target);
/// A config from a simple model of the target (register count, vector width), no measuring:
/// what `run` uses and where the tuner starts.
Config default_config(const Workload& wl, const Target& target);
/// The schedule a config stands for. UserError naming the knob when the config is not in the space.
Schedule make_schedule(const Workload& wl, const Target& target, const Config& config);
/// The same with the space already built (the tuner builds it once per layer).
Schedule make_schedule(const Workload& wl, const KnobSpace& space, const Config& config);

/// What `--schedule` names: "default" (the default config of the template that fits; the
/// naive nest where no template applies), "naive" (no
/// schedule: empty steps), a template's name (its default config), or a file holding a
/// schedule, a config ({"config": {...}}, with "template" naming another than the one that
/// fits) or a bare config.
Schedule resolve_schedule(const std::string& what, const Workload& wl, const Target& target);

} // namespace convtune
