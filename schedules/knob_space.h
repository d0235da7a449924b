/// \file Knobs and spaces: a config is a point in the product of typed knobs (the model is
/// AutoTVM's space.py: split, reorder, annotate and choice knobs).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace convtune {

/// What a knob's value means to the template.
enum class KnobKind {
  Split,     ///< a tile size: the inner extent of a split
  Reorder,   ///< an index into a list of loop orders the template names in the knob's help
  Annotate,  ///< 0/1: whether a loop gets an annotation (unroll, vectorize, ...)
  Choice,    ///< one of a few named alternatives (help says which value is which)
};
const char* to_string(KnobKind kind);

/// A knob: a name, its kind, the values it may take.
struct Knob {
  std::string name;
  KnobKind kind = KnobKind::Choice;
  std::vector<int64_t> values;
  std::string help;
};

using Config = std::map<std::string, int64_t>;

/// The space of a template for one workload on one target: the product of its knobs.
struct KnobSpace {
  std::string template_name;
  /// The template's version: configs recorded under another version are not this one's trials.
  int template_version = 0;
  std::vector<Knob> knobs;

  /// How many configs the space holds (the product of the knobs' sizes).
  uint64_t size() const;
  /// The config at a position in [0, size()), knobs varying fastest last (mixed radix).
  Config at(uint64_t index) const;
  /// The position of a config; UserError naming the knob when a value is not in the space.
  uint64_t index_of(const Config& config) const;
};

void to_json(nlohmann::json& j, const KnobSpace& space);

/// The value of knob `name`; UserError naming it when the config lacks it.
int64_t knob_value(const Config& config, const std::string& name);

nlohmann::json config_to_json(const Config& config);
Config config_from_json(const nlohmann::json& j);

} // namespace convtune
