/// \file The union of templates a tuning session searches.
#include "schedules/template_choice.h"

#include <algorithm>

#include "ir/error.h"

namespace convtune {

std::vector<const ScheduleTemplate*> applicable_templates(const Workload& wl, const Target& target) {
  std::vector<const ScheduleTemplate*> out;
  for (const auto& t : template_registry()) {
    if (t->applies(wl, target)) out.push_back(t.get());
  }
  return out;
}

TemplateChoice::TemplateChoice(std::vector<const ScheduleTemplate*> templates, const Workload& wl, const Target& target)
    : templates_(std::move(templates)), workload_(wl), target_(target) {
  internal_check(!templates_.empty(), "a choice of no templates");
  if (templates_.size() == 1) {
    space_ = templates_[0]->space(wl, target);
    return;
  }
  std::vector<KnobSpace> spaces;
  std::string name;
  feature_count_ = templates_.size();
  for (const ScheduleTemplate* t : templates_) {
    spaces.push_back(t->space(wl, target));
    name += (name.empty() ? "" : "|") + std::string(t->name());
    feature_offsets_.push_back(feature_count_);
    feature_count_ += t->feature_names().size();
  }
  space_ = union_space(name, std::move(spaces));
}

std::pair<const ScheduleTemplate*, Config> TemplateChoice::split(const Config& point) const {
  if (!space_.is_union()) return {templates_[0], point};
  return {templates_[space_.alternative_of(point)], space_.strip(point)};
}

std::optional<Config> TemplateChoice::join(const ScheduleTemplate& tpl, const Config& config) const {
  for (size_t i = 0; i < templates_.size(); ++i) {
    if (templates_[i] != &tpl) continue;
    return space_.is_union() ? space_.join(i, config) : config;
  }
  return std::nullopt;
}

const ScheduleTemplate* TemplateChoice::find(const std::string& name, int version) const {
  for (const ScheduleTemplate* t : templates_) {
    if (name == t->name() && version == t->version()) return t;
  }
  return nullptr;
}

std::vector<Config> TemplateChoice::default_points() const {
  std::vector<Config> out;
  for (const ScheduleTemplate* t : templates_) out.push_back(*join(*t, t->default_config(workload_, target_)));
  return out;
}

Schedule TemplateChoice::schedule(const Config& point) const {
  if (!space_.is_union()) return make_schedule(workload_, space_, point);
  const size_t i = space_.alternative_of(point);
  return make_schedule(workload_, space_.alternatives[i], space_.strip(point));
}

std::vector<double> TemplateChoice::features(int threads, const Config& point) const {
  const auto [tpl, own] = split(point);
  return embedded(*tpl, tpl->features(workload_, target_, threads, own));
}

std::vector<double> TemplateChoice::embedded(const ScheduleTemplate& tpl, const std::vector<double>& own) const {
  if (!space_.is_union()) return own;
  const size_t i = size_t(std::find(templates_.begin(), templates_.end(), &tpl) - templates_.begin());
  internal_check(i < templates_.size(), std::string("template ") + tpl.name() + " is not one of the choice's");
  std::vector<double> out(feature_count_, 0.0);
  out[i] = 1.0;
  std::copy(own.begin(), own.end(), out.begin() + long(feature_offsets_[i]));
  return out;
}

} // namespace convtune
