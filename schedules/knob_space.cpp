/// \file Knob spaces: indexing configs, reading and writing them.
#include "schedules/knob_space.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "ir/error.h"

namespace convtune {

double Knob::utilisation(int64_t value) const {
  if (extent <= 0 || value <= 0) return 1.0;
  return double(extent) / double((extent + value - 1) / value * value);
}

const char* to_string(KnobKind kind) {
  switch (kind) {
  case KnobKind::Split: return "split";
  case KnobKind::Reorder: return "reorder";
  case KnobKind::Annotate: return "annotate";
  case KnobKind::Choice: return "choice";
  }
  return "?";
}

uint64_t KnobSpace::size() const {
  if (is_union()) return offset_of(alternatives.size());
  uint64_t n = 1;
  for (const Knob& k : knobs) n *= k.values.size();
  return n;
}

uint64_t KnobSpace::offset_of(size_t i) const {
  uint64_t offset = 0;
  for (size_t j = 0; j < i; ++j) offset += alternatives[j].size();
  return offset;
}

size_t KnobSpace::alternative_of(const Config& config) const {
  const int64_t i = knob_value(config, kTemplateKnob);
  if (i < 0 || size_t(i) >= alternatives.size()) {
    throw UserError("config: knob '" + std::string(kTemplateKnob) + "' = " + std::to_string(i) + " is not in the " + template_name + " space");
  }
  return size_t(i);
}

std::vector<Knob> KnobSpace::knobs_of(const Config& config) const {
  if (!is_union()) return knobs;
  std::vector<Knob> out = knobs;
  const std::vector<Knob>& own = alternatives[alternative_of(config)].knobs;
  out.insert(out.end(), own.begin(), own.end());
  return out;
}

Config KnobSpace::join(size_t i, Config config) const {
  config[kTemplateKnob] = int64_t(i);
  return config;
}

Config KnobSpace::strip(const Config& config) const {
  Config out = config;
  out.erase(kTemplateKnob);
  return out;
}

KnobSpace union_space(std::string name, std::vector<KnobSpace> alternatives) {
  internal_check(alternatives.size() >= 2, "a union of fewer than two spaces");
  KnobSpace u;
  u.template_name = std::move(name);
  u.template_version = 1;
  Knob choice{kTemplateKnob, KnobKind::Choice, {}, "the template (algorithm):"};
  for (size_t i = 0; i < alternatives.size(); ++i) {
    choice.values.push_back(int64_t(i));
    choice.help += " " + std::to_string(i) + " " + alternatives[i].template_name;
  }
  u.knobs = {choice};
  u.alternatives = std::move(alternatives);
  return u;
}

Config KnobSpace::at(uint64_t index) const {
  if (is_union()) {
    for (size_t i = 0; i < alternatives.size(); ++i) {
      if (index < alternatives[i].size()) return join(i, alternatives[i].at(index));
      index -= alternatives[i].size();
    }
    internal_check(false, "config position past the union's end");
  }
  Config c;
  for (auto it = knobs.rbegin(); it != knobs.rend(); ++it) {
    c[it->name] = it->values[index % it->values.size()];
    index /= it->values.size();
  }
  return c;
}

uint64_t KnobSpace::index_of(const Config& config) const {
  if (is_union()) {
    const size_t i = alternative_of(config);
    return offset_of(i) + alternatives[i].index_of(strip(config));
  }
  uint64_t index = 0;
  for (const Knob& k : knobs) {
    int64_t v = knob_value(config, k.name);
    auto pos = std::find(k.values.begin(), k.values.end(), v);
    if (pos == k.values.end()) {
      throw UserError("config: knob '" + k.name + "' = " + std::to_string(v) + " is not in the " + template_name + " space");
    }
    index = index * k.values.size() + uint64_t(pos - k.values.begin());
  }
  for (const auto& [name, value] : config) {
    bool known = false;
    for (const Knob& k : knobs) known = known || k.name == name;
    if (!known) throw UserError("config: unknown knob '" + name + "' for template " + template_name);
  }
  return index;
}

void to_json(nlohmann::json& j, const KnobSpace& space) {
  j = {{"template", space.template_name}, {"template_version", space.template_version}, {"size", space.size()}};
  j["knobs"] = nlohmann::json::array();
  for (const Knob& k : space.knobs) {
    j["knobs"].push_back({{"name", k.name}, {"kind", to_string(k.kind)}, {"values", k.values}, {"help", k.help}});
    if (k.extent > 0) j["knobs"].back()["extent"] = k.extent;
  }
  if (space.is_union()) j["alternatives"] = space.alternatives;
}

int64_t knob_value(const Config& c, const std::string& name) {
  auto it = c.find(name);
  if (it == c.end()) throw UserError("config: missing knob '" + name + "'");
  return it->second;
}

nlohmann::json config_to_json(const Config& config) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : config) j[k] = v;
  return j;
}

Config config_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw UserError("config: expected a JSON object of knob values");
  Config c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer()) throw UserError("config: knob '" + it.key() + "' must be an integer");
    c[it.key()] = it.value().get<int64_t>();
  }
  return c;
}

} // namespace convtune
