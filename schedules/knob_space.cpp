/// \file Knob spaces: indexing configs, reading and writing them.
#include "schedules/knob_space.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "ir/error.h"

namespace convtune {

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
  uint64_t n = 1;
  for (const Knob& k : knobs) n *= k.values.size();
  return n;
}

Config KnobSpace::at(uint64_t index) const {
  Config c;
  for (auto it = knobs.rbegin(); it != knobs.rend(); ++it) {
    c[it->name] = it->values[index % it->values.size()];
    index /= it->values.size();
  }
  return c;
}

uint64_t KnobSpace::index_of(const Config& config) const {
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
  }
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
