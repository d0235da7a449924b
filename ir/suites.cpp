/// \file The built-in benchmark suites, parsed once from the JSON texts compiled into the binary.
#include "ir/suites.h"

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/error.h"

namespace convtune {

namespace {

using SuiteMap = std::map<std::string, std::vector<Workload>>;

/// Reads one suite file. The texts are ours, so any flaw in them is an InternalError.
std::vector<Workload> load_suite(const std::string& suite, const std::string& text) {
  const std::string where = "built-in suite '" + suite + "'";
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InternalError("internal error: " + where + " is not valid JSON: " + e.what());
  }
  internal_check(doc.is_object() && doc.contains("layers") && doc["layers"].is_array(),
                 where + " has no \"layers\" array");
  internal_check(doc.value("suite", std::string()) == suite,
                 where + " names itself '" + doc.value("suite", std::string()) + "'");

  std::vector<Workload> layers;
  for (const nlohmann::json& entry : doc["layers"]) {
    Workload wl;
    try {
      from_json(entry, wl);
      wl.validate();
    } catch (const UserError& e) {
      throw InternalError("internal error: " + where + ", layer " + entry.dump() + ": " + e.what());
    }
    internal_check(!wl.name.empty(), where + " has a layer without a name");
    for (const Workload& earlier : layers) {
      internal_check(earlier.name != suite + ":" + wl.name, where + " repeats layer " + wl.name);
    }
    wl.name = suite + ":" + wl.name;
    layers.push_back(std::move(wl));
  }
  return layers;
}

const SuiteMap& suites() {
  // Built on first use (thread-safe static); a std::map keeps the names sorted.
  static const SuiteMap map = [] {
    SuiteMap loaded;
    for (const auto& [suite, text] : builtin_suite_texts()) loaded[suite] = load_suite(suite, text);
    return loaded;
  }();
  return map;
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

} // namespace

std::vector<std::string> suite_names() {
  std::vector<std::string> names;
  for (const auto& entry : suites()) names.push_back(entry.first);
  return names;
}

std::vector<Workload> suite_layers(const std::string& suite) {
  const auto it = suites().find(suite);
  if (it == suites().end())
    throw UserError("unknown suite '" + suite + "' (known: " + join(suite_names()) + ")");
  return it->second;
}

Workload suite_layer(const std::string& suite, const std::string& layer) {
  const std::vector<Workload> layers = suite_layers(suite);
  const std::string full_name = suite + ":" + layer;
  std::vector<std::string> known;
  for (const Workload& wl : layers) {
    if (wl.name == full_name) return wl;
    known.push_back(wl.name.substr(suite.size() + 1));
  }
  throw UserError("unknown layer '" + layer + "' in suite '" + suite + "' (known: " + join(known) +
                  ")");
}

} // namespace convtune
