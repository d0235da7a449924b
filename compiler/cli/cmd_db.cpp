/// \file `convtune db`: read the tuning database: the best config of a layer, a summary per
/// layer and target, or every record as CSV.
#include <cstdio>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "compiler/cli/args.h"
#include "compiler/cli/commands.h"
#include "ir/error.h"
#include "ir/workload.h"
#include "targets/target.h"
#include "tuner/database.h"

namespace convtune::cli {

int cmd_db(const std::vector<std::string>& argv) {
  const char* usage = "usage: convtune db (best --workload SPEC | list | export --format csv) [--db FILE]";
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
    std::printf("%s\n\n  best     the best config of a workload on this target and thread count\n"
                "  list     every workload and target in the database, with trial counts and best speed\n"
                "  export   every record, as CSV (--format csv)\n",
                usage);
    return argv.empty() ? 2 : 0;
  }
  const std::string action = argv[0];
  if (action != "best" && action != "list" && action != "export") {
    throw UserError("unknown db action '" + action + "' (expected best, list or export)");
  }
  std::vector<OptionSpec> specs = {options::db("the tuning database"), options::json()};
  if (action == "best") {
    specs.push_back(options::workload());
    specs.push_back(options::target("the target: cpu (the host)"));
    specs.push_back(options::threads("the thread count the records were measured with"));
  }
  if (action == "export") specs.push_back({"format", "F", "csv", "csv"});
  Args args("db " + action, specs);
  if (!args.parse(std::vector<std::string>(argv.begin() + 1, argv.end()))) {
    std::cout << args.help(usage);
    return 0;
  }
  Database db(args.get("db"));
  db.load(std::cerr);

  if (action == "export") {
    if (args.get("format") != "csv") throw UserError("invalid --format '" + args.get("format") + "': expected csv");
    std::cout << db.export_csv();
    return 0;
  }
  if (action == "best") {
    const Workload wl = parse_workload(args.require("workload"));
    const Target target = parse_target(args.get("target"));
    const std::string slot = target_slot(target.key(), int(args.get_int("threads", 1)));
    const TrialRecord* best = db.best(wl.key(), slot);
    if (!best) throw UserError("no successful record for workload " + wl.key() + " on " + slot + " in '" + args.get("db") + "'");
    if (args.has("json")) {
      std::cout << nlohmann::json(*best).dump(2) << "\n";
      return 0;
    }
    std::printf("workload   %s\ntarget     %s\ntemplate   %s\nconfig     %s\nspeed      %.1f GFLOP/s (%.4g ms)\nmeasured   %s\n",
                wl.key().c_str(), slot.c_str(), best->template_name.c_str(), best->config.dump().c_str(), best->gflops,
                best->median_ms, best->timestamp.c_str());
    return 0;
  }
  // list: one line per workload and target slot.
  struct Summary {
    int trials = 0, failed = 0;
    double best = 0;
  };
  std::map<std::pair<std::string, std::string>, Summary> rows;
  for (const TrialRecord& r : db.records()) {
    Summary& s = rows[{r.workload_key, r.target_slot()}];
    ++s.trials;
    if (!r.ok) ++s.failed;
    if (r.ok) s.best = std::max(s.best, r.gflops);
  }
  if (args.has("json")) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& [key, s] : rows) {
      j.push_back({{"workload_key", key.first}, {"target_slot", key.second}, {"trials", s.trials}, {"failed", s.failed}, {"best_gflops", s.best}});
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  for (const auto& [key, s] : rows) {
    std::printf("%-70s %-50s %5d trials %4d failed  best %.1f GFLOP/s\n", key.first.c_str(), key.second.c_str(), s.trials,
                s.failed, s.best);
  }
  return 0;
}

} // namespace convtune::cli
