/// \file Several templates searched as one space, so that a tuning session chooses the
/// algorithm (direct, im2col + GEMM, Winograd, sparse) as well as its schedule. The template is
/// a knob of the union space (schedules/knob_space.h) and a feature the cost model sees; each
/// point still stands for one template's own config, which is what the database records.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "schedules/schedule_template.h"

namespace convtune {

/// Every template that applies to `wl` on `target`, in the registry's order (the default
/// choice first).
std::vector<const ScheduleTemplate*> applicable_templates(const Workload& wl, const Target& target);

class TemplateChoice {
public:
  /// The union of `templates` for `wl` on `target` (at least one). With one template the space
  /// is its own, and every config maps to itself.
  TemplateChoice(std::vector<const ScheduleTemplate*> templates, const Workload& wl, const Target& target);

  const KnobSpace& space() const { return space_; }
  const std::vector<const ScheduleTemplate*>& templates() const { return templates_; }

  /// The template a point of the space belongs to, and that template's own config.
  std::pair<const ScheduleTemplate*, Config> split(const Config& point) const;
  /// The point of template `tpl`'s own `config`; nullopt when `tpl` is not one of the choice's.
  std::optional<Config> join(const ScheduleTemplate& tpl, const Config& config) const;

  /// The choice's template named `name` at version `version` (what a database record names);
  /// nullptr when it is not searched, or was another version.
  const ScheduleTemplate* find(const std::string& name, int version) const;

  /// Each template's default config, as points, in the templates' order.
  std::vector<Config> default_points() const;
  /// The schedule a point stands for.
  Schedule schedule(const Config& point) const;
  /// The cost model's view of a point: one column per template (1 for the point's own), then
  /// each template's features in its own columns (zeros in the others'). One template: its own.
  std::vector<double> features(int threads, const Config& point) const;
  /// Features `own` of template `tpl` (of any workload: transfer reads other layers') laid out
  /// as features() lays them out.
  std::vector<double> embedded(const ScheduleTemplate& tpl, const std::vector<double>& own) const;

private:
  std::vector<const ScheduleTemplate*> templates_;
  Workload workload_;
  Target target_;
  KnobSpace space_;
  std::vector<size_t> feature_offsets_;  ///< where each template's features start
  size_t feature_count_ = 0;
};

} // namespace convtune
