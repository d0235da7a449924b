/// \file `convtune space`: the search space of a layer, every template that applies with its
/// knobs, their domains and the constraints between them, so that any search method can drive
/// convtune (`convtune measure` measures what it proposes).
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "compiler/cli/args.h"
#include "compiler/cli/commands.h"
#include "schedules/template_choice.h"

namespace convtune::cli {

int cmd_space(const std::vector<std::string>& argv) {
  Args args("space", {options::workload(), options::weights(), options::sparsity(), options::sparsity_block(), options::target(),
                      {"template", "NAME", "that template alone; default: every template that applies", ""},
                      options::json()});
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune space --workload SPEC [--target T] [--template NAME] [--json]");
    return 0;
  }
  const Workload wl = selected_workload(args);
  const Target target = parse_target(args.get("target"));
  std::vector<const ScheduleTemplate*> templates;
  if (args.has("template")) templates.push_back(&template_named_for(args.get("template"), wl, target));
  else templates = applicable_templates(wl, target);
  if (templates.empty()) template_for(wl, target);  // refuses, naming the workload and the target

  nlohmann::json list = nlohmann::json::array();
  uint64_t total = 0;
  for (const ScheduleTemplate* t : templates) {
    const KnobSpace space = t->space(wl, target);
    nlohmann::json j = space;
    j["default_config"] = config_to_json(t->default_config(wl, target));
    j["feature_names"] = t->feature_names();
    // Every template's space is the product of its knobs' domains: every combination is a
    // valid config (what a schedule cannot do fails as a trial, e.g. a register tile too big).
    j["constraints"] = nlohmann::json::array();
    list.push_back(j);
    total += space.size();
  }
  if (args.has("json")) {
    nlohmann::json out = {{"workload", wl}, {"key", wl.key()}, {"target", target.key()}, {"templates", list}, {"size", total}};
    out["config_format"] =
        "{\"template\": NAME, \"config\": {KNOB: VALUE, ...}}: one value of each knob of that template (convtune measure --configs)";
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("%s  %s on %s: %llu configs in %zu template%s\n", wl.name.empty() ? "layer" : wl.name.c_str(), wl.spec().c_str(),
              target.key().c_str(), static_cast<unsigned long long>(total), templates.size(), templates.size() == 1 ? "" : "s");
  for (const nlohmann::json& t : list) {
    std::printf("\n%s (version %d): %llu configs, default %s\n", t["template"].get<std::string>().c_str(), t["template_version"].get<int>(),
                static_cast<unsigned long long>(t["size"].get<uint64_t>()), t["default_config"].dump().c_str());
    for (const nlohmann::json& k : t["knobs"]) {
      std::printf("  %-10s %-8s %-28s %s\n", k["name"].get<std::string>().c_str(), k["kind"].get<std::string>().c_str(),
                  k["values"].dump().c_str(), k["help"].get<std::string>().c_str());
    }
  }
  return 0;
}

} // namespace convtune::cli
