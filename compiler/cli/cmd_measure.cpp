/// \file `convtune measure`: measures a list of configs (any searcher's proposals) through the
/// isolated worker and appends each trial to the tuning database, as a tuning session does.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "compiler/cli/args.h"
#include "compiler/cli/commands.h"
#include "runtime/memory_budget.h"
#include "schedules/schedule_template.h"
#include "tuner/database.h"
#include "tuner/measurer.h"
#include "tuner/tuning_loop.h"

namespace convtune::cli {

namespace {

struct Entry {
  const ScheduleTemplate* tpl;
  Config config;
  Schedule schedule;
};

/// The configs of FILE: a JSON array whose entries are {"template": NAME, "config": {...}} or a
/// bare config of the template that fits. Each is checked against its space before anything
/// is measured; UserError naming the entry and what is wrong.
std::vector<Entry> read_configs(const std::string& path, const Workload& wl, const Target& target) {
  const nlohmann::json j = read_json_file(path, "--configs");
  if (!j.is_array() || j.empty()) throw UserError("--configs file '" + path + "' must hold a non-empty JSON array of configs");
  std::vector<Entry> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string where = "--configs entry " + std::to_string(i) + ": ";
    try {
      const nlohmann::json& e = j[i];
      if (!e.is_object()) throw UserError("expected an object");
      const bool wrapped = e.contains("config");
      const ScheduleTemplate* tpl = nullptr;
      if (e.contains("template")) {
        if (!e["template"].is_string()) throw UserError("'template' must be a template's name");
        tpl = &template_named_for(e["template"].get<std::string>(), wl, target);
      } else {
        tpl = &template_for(wl, target);
      }
      const Config config = config_from_json(wrapped ? e["config"] : e);
      const KnobSpace space = tpl->space(wl, target);
      out.push_back({tpl, config, make_schedule(wl, space, config)});
    } catch (const UserError& err) {
      throw UserError(where + err.what());
    }
  }
  return out;
}

} // namespace

int cmd_measure(const std::vector<std::string>& argv) {
  Args args("measure", {options::workload(), options::weights(), options::sparsity(), options::sparsity_block(), options::target(),
                        {"configs", "FILE", "a JSON array of configs: {\"template\": NAME, \"config\": {...}} or bare configs", ""},
                        options::db("the tuning database the trials are appended to"),
                        options::threads("threads the kernels run with"),
                        {"timeout", "S", "seconds a config may take (compile, check, measure)", "10"},
                        options::repeat("5"),
                        options::min_repeat_ms("50"),
                        options::json()});
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune measure --workload SPEC --configs FILE [--db FILE] [--threads T] [--json]");
    return 0;
  }
  const Workload wl = selected_workload(args);
  require_memory_for(wl);
  const Target target = runnable_target(parse_target(args.get("target")));
  const std::vector<Entry> entries = read_configs(args.require("configs"), wl, target);
  const MeasureOptions mo = measure_options(args, target);
  Database db(args.get("db"));
  db.load(std::cerr);
  Measurer measurer(current_executable(), mo);
  std::vector<Candidate> candidates;
  for (const Entry& e : entries) candidates.push_back({wl, e.schedule, ""});
  nlohmann::json results = nlohmann::json::array();
  measurer.measure_all(candidates, [&](size_t i, const MeasureResult& m) {
    const TrialRecord r = trial_record(wl, target, mo.threads, *entries[i].tpl, entries[i].config, entries[i].schedule, m);
    db.append(r);
    nlohmann::json row = {{"template", r.template_name}, {"config", r.config}, {"ok", r.ok}};
    if (r.ok) {
      row["gflops"] = r.gflops;
      row["median_ms"] = r.median_ms;
    } else {
      row["error"] = r.error;
    }
    results.push_back(row);
  });
  if (args.has("json")) {
    std::cout << nlohmann::json{{"workload", wl}, {"key", wl.key()}, {"db", args.get("db")}, {"threads", mo.threads}, {"results", results}}.dump(2)
              << "\n";
    return 0;
  }
  for (const nlohmann::json& row : results) {
    std::printf("%-16s %-60s %s\n", row["template"].get<std::string>().c_str(), row["config"].dump().c_str(),
                row["ok"].get<bool>() ? (std::to_string(row["gflops"].get<double>()) + " GFLOP/s").c_str()
                                      : row["error"].get<std::string>().c_str());
  }
  return 0;
}

} // namespace convtune::cli
