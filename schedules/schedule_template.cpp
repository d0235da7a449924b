/// \file The template registry and the common way of using the template that fits.
#include "schedules/schedule_template.h"

#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "schedules/gpu_templates.h"
#include "schedules/nchwc_common.h"

namespace convtune {

KnobSpace ScheduleTemplate::space_of(std::vector<Knob> knobs) const {
  KnobSpace space;
  space.template_name = name();
  space.template_version = version();
  space.knobs = std::move(knobs);
  return space;
}

const std::vector<std::unique_ptr<ScheduleTemplate>>& template_registry() {
  static const std::vector<std::unique_ptr<ScheduleTemplate>> registry = [] {
    std::vector<std::unique_ptr<ScheduleTemplate>> r;
    r.push_back(nchwc::make_depthwise_template());
    r.push_back(nchwc::make_direct_template());
    // After direct: chosen by name (`--template`, the bench row), not by default.
    r.push_back(nchwc::make_im2col_gemm_template());
    r.push_back(nchwc::make_winograd_template());
    // Where the layer's weights are given (and so their pattern of nonzeros).
    r.push_back(nchwc::make_sparse_direct_template());
    r.push_back(nchwc::make_sparse_blocked_template());
    r.push_back(nchwc::make_pool_template());
    // NVIDIA GPUs.
    r.push_back(gpu::make_direct_template());
    r.push_back(gpu::make_im2col_gemm_template());
    // Searched next to gpu_direct (which computes depthwise layers a channel a block).
    r.push_back(gpu::make_depthwise_template());
    return r;
  }();
  return registry;
}

const ScheduleTemplate& template_named(const std::string& name) {
  std::string known;
  for (const auto& t : template_registry()) {
    if (t->name() == name) return *t;
    known += (known.empty() ? "" : ", ") + std::string(t->name());
  }
  throw UserError("unknown template '" + name + "' (templates: " + known + ")");
}

const ScheduleTemplate* find_template(const Workload& wl, const Target& target) {
  for (const auto& t : template_registry()) {
    if (t->applies(wl, target)) return t.get();
  }
  return nullptr;
}

const ScheduleTemplate& template_for(const Workload& wl, const Target& target) {
  if (const ScheduleTemplate* t = find_template(wl, target)) return *t;
  throw UserError("no schedule template applies to " + wl.spec() + " on target '" + target.name + "'");
}

const ScheduleTemplate& template_named_for(const std::string& name, const Workload& wl, const Target& target) {
  const ScheduleTemplate& t = template_named(name);
  if (!t.applies(wl, target)) {
    throw UserError("template '" + name + "' does not apply to " + wl.spec() + " on target '" + target.name + "'");
  }
  return t;
}

KnobSpace knob_space(const Workload& wl, const Target& target) { return template_for(wl, target).space(wl, target); }

Config default_config(const Workload& wl, const Target& target) {
  return template_for(wl, target).default_config(wl, target);
}

Schedule make_schedule(const Workload& wl, const Target& target, const Config& config) {
  return make_schedule(wl, knob_space(wl, target), config);
}

Schedule make_schedule(const Workload& wl, const KnobSpace& space, const Config& config) {
  space.index_of(config);  // refuses values outside the space, naming the knob
  Schedule sch;
  sch.template_name = space.template_name;
  sch.config = config_to_json(config);
  const ScheduleTemplate& tpl = template_named(space.template_name);
  sch.algorithm = tpl.algorithm(wl, config);
  sch.steps = tpl.steps(wl, space, config);
  return sch;
}

Schedule resolve_schedule(const std::string& what, const Workload& wl, const Target& target) {
  if (what == "default") {
    if (!find_template(wl, target)) return Schedule{};
    return make_schedule(wl, target, default_config(wl, target));
  }
  if (what == "naive") return Schedule{};
  for (const auto& t : template_registry()) {
    if (what != t->name()) continue;
    const ScheduleTemplate& fit = template_named_for(what, wl, target);
    return make_schedule(wl, fit.space(wl, target), fit.default_config(wl, target));
  }
  nlohmann::json j = read_json_file(what, "schedule");
  if (j.is_object() && j.contains("steps")) return schedule_from_json(j);
  if (j.is_object() && j.contains("config")) {
    // A config of a named template, or of the template that fits.
    if (j.contains("template") && j["template"].is_string()) {
      const ScheduleTemplate& t = template_named(j["template"].get<std::string>());
      return make_schedule(wl, t.space(wl, target), config_from_json(j["config"]));
    }
    return make_schedule(wl, target, config_from_json(j["config"]));
  }
  return make_schedule(wl, target, config_from_json(j));
}

} // namespace convtune
