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
  /// For a Split knob whose loop runs over a fixed extent of the layer (output channels,
  /// columns, rows): that extent, so ceil(extent / value) * value says how much work the tile
  /// wastes past the edge. 0: the knob tiles no such extent, or every value divides it.
  int64_t extent = 0;

  /// The share of the work a tile of `value` spends inside the extent: extent over
  /// ceil(extent / value) * value; 1 when the knob names no extent.
  double utilisation(int64_t value) const;
};

using Config = std::map<std::string, int64_t>;

/// The knob of a union of spaces that says which alternative a config belongs to.
inline constexpr const char* kTemplateKnob = "template";

/// The space of a template for one workload on one target: the product of its knobs. Or the
/// union of several templates' spaces (`alternatives`, for a search that chooses the
/// algorithm too): a config of the union is {"template": i} plus the knobs of alternative i,
/// and `knobs` holds the template knob alone.
struct KnobSpace {
  std::string template_name;
  /// The template's version: configs recorded under another version are not this one's trials.
  int template_version = 0;
  std::vector<Knob> knobs;
  std::vector<KnobSpace> alternatives{};

  /// How many configs the space holds (the product of the knobs' sizes; a union's sum).
  uint64_t size() const;
  /// The config at a position in [0, size()), knobs varying fastest last (mixed radix); a
  /// union's alternatives one after the other.
  Config at(uint64_t index) const;
  /// The position of a config; UserError naming the knob when a value is not in the space.
  uint64_t index_of(const Config& config) const;

  bool is_union() const { return !alternatives.empty(); }
  /// The union's alternative a config belongs to (UserError naming the knob when it names none).
  size_t alternative_of(const Config& config) const;
  /// The first position of alternative `i` in the union.
  uint64_t offset_of(size_t i) const;
  /// The knobs `config` sets: the space's own, or a union's template knob and its alternative's.
  std::vector<Knob> knobs_of(const Config& config) const;
  /// A config of alternative `i` as a config of the union, and back.
  Config join(size_t i, Config config) const;
  Config strip(const Config& config) const;
};

/// The union of `alternatives` (at least two); named and versioned `name`, version 1.
KnobSpace union_space(std::string name, std::vector<KnobSpace> alternatives);

void to_json(nlohmann::json& j, const KnobSpace& space);

/// The value of knob `name`; UserError naming it when the config lacks it.
int64_t knob_value(const Config& config, const std::string& name);

nlohmann::json config_to_json(const Config& config);
Config config_from_json(const nlohmann::json& j);

} // namespace convtune
