/// \file Resuming a tuning session from the database: only the missing trials are measured, other target slots do not count, a damaged database still loads.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/workload.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"
#include "tests/test_support.h"
#include "tuner/database.h"
#include "tuner/measurer.h"
#include "tuner/tuning_loop.h"

using namespace convtune;
using Catch::Matchers::Contains;
using convtune::testing::TempPath;

namespace {

const char* kTiny = "n=1,c=8,h=6,w=6,k=16,r=3,s=3,pad=1";

MeasureOptions quick_options(int threads = 1) {
  MeasureOptions o;
  o.threads = threads;
  o.repeat = 1;
  o.min_repeat_ms = 1;
  o.timeout_s = 10;
  return o;
}

TuneOptions tune_options(int trials, const std::string& tuner = "bted") {
  TuneOptions o;
  o.trials = trials;
  o.tuner = tuner;
  o.seed = 4;
  o.batch = 4;
  return o;
}

/// A database opened and loaded as a new session would; warnings go to `warnings`.
Database open_db(const std::string& path, std::ostream& warnings) {
  Database db(path);
  db.load(warnings);
  return db;
}

/// One session: a fresh database object and measurer on the file, as `convtune tune` runs.
TuneResult session(const std::string& path, const Workload& wl, const TuneOptions& options, int threads = 1) {
  std::ostringstream warnings;
  Database db = open_db(path, warnings);
  Measurer measurer(CONVTUNE_BINARY, quick_options(threads));
  return tune_workload(wl, host_target(), db, measurer, options);
}

std::string slot_of(const Target& target, int threads) { return target_slot(target.key(), threads); }

/// The canonical text of every config recorded for the workload on the slot.
std::multiset<std::string> configs_in(const Database& db, const Workload& wl, const std::string& slot) {
  std::multiset<std::string> out;
  for (const TrialRecord* r : db.find(wl.key(), slot)) out.insert(r->config.dump());
  return out;
}

} // namespace

TEST_CASE("resume measures only the trials a session is missing", "[tuner][resume]") {
  TempPath path("resume", ".jsonl");
  const Workload wl = parse_workload(kTiny);
  const std::string slot = slot_of(host_target(), 1);

  const TuneResult first = session(path.str(), wl, tune_options(5));
  REQUIRE(first.trials == 5);
  REQUIRE(first.new_trials == 5);

  const TuneResult second = session(path.str(), wl, tune_options(8));
  REQUIRE(second.trials == 8);
  REQUIRE(second.new_trials == 3);
  REQUIRE(second.curve().size() == 8);
  REQUIRE(second.trial_gflops.size() == 8);
  // The earlier trials are counted as they were.
  for (size_t i = 0; i < 5; ++i) REQUIRE(second.curve()[i] == first.curve()[i]);
  REQUIRE(second.best_gflops >= first.best_gflops);
  REQUIRE(second.default_gflops == first.default_gflops);

  std::ostringstream warnings;
  const Database db = open_db(path.str(), warnings);
  REQUIRE(warnings.str().empty());
  REQUIRE(db.records().size() == 8);
  const std::multiset<std::string> configs = configs_in(db, wl, slot);
  REQUIRE(configs.size() == 8);
  REQUIRE(std::set<std::string>(configs.begin(), configs.end()).size() == 8);

  // A session that asks for no more trials than recorded measures nothing.
  const TuneResult third = session(path.str(), wl, tune_options(6));
  REQUIRE(third.new_trials == 0);
  REQUIRE(third.trials == 8);
  REQUIRE(convtune::testing::non_empty_lines(path.str()) == 8);

  // A resumed session with another searcher still measures no config twice.
  const TuneResult fourth = session(path.str(), wl, tune_options(10, "random"));
  REQUIRE(fourth.new_trials == 2);
  std::ostringstream w;
  const Database again = open_db(path.str(), w);
  const std::multiset<std::string> all = configs_in(again, wl, slot);
  REQUIRE(all.size() == 10);
  REQUIRE(std::set<std::string>(all.begin(), all.end()).size() == 10);
}

TEST_CASE("resume counts only the records of its own workload and target slot", "[tuner][resume]") {
  TempPath path("resume", ".jsonl");
  const Workload wl = parse_workload(kTiny);
  const Target target = host_target();

  // Three trials with two threads: another slot of the same target.
  const TuneResult two_threads = session(path.str(), wl, tune_options(3, "random"), 2);
  REQUIRE(two_threads.new_trials == 3);

  // A record of another target key and one of another workload, each absurdly fast, so a
  // mix-up would show as the best.
  {
    std::ostringstream warnings;
    Database db = open_db(path.str(), warnings);
    const TrialRecord model = db.records().front();
    TrialRecord other_target = model;
    other_target.target_key = "cpu_other-target_v128";
    other_target.threads = 1;
    other_target.ok = true;
    other_target.error.clear();
    other_target.gflops = 1e9;
    db.append(other_target);
    TrialRecord other_workload = other_target;
    other_workload.target_key = target.key();
    other_workload.workload_key = parse_workload("n=1,c=8,h=7,w=7,k=16,r=3,s=3,pad=1").key();
    db.append(other_workload);
  }

  const TuneResult one_thread = session(path.str(), wl, tune_options(4, "random"), 1);
  REQUIRE(one_thread.trials == 4);
  REQUIRE(one_thread.new_trials == 4);
  REQUIRE(one_thread.best_gflops > 0);
  REQUIRE(one_thread.best_gflops < 1e9);
  REQUIRE(one_thread.curve().size() == 4);

  std::ostringstream warnings;
  const Database db = open_db(path.str(), warnings);
  REQUIRE(db.records().size() == 3 + 2 + 4);
  REQUIRE(db.find(wl.key(), slot_of(target, 1)).size() == 4);
  REQUIRE(db.find(wl.key(), slot_of(target, 2)).size() == 3);
  // The default config is measured in each slot: the same config counts once per slot.
  const nlohmann::json default_cfg = config_to_json(default_config(wl, target));
  const KnobSpace space = knob_space(wl, target);
  REQUIRE(db.measured(wl.key(), slot_of(target, 1), space.template_name, space.template_version, default_cfg));
  REQUIRE(db.measured(wl.key(), slot_of(target, 2), space.template_name, space.template_version, default_cfg));
  // The same knob values under another template version are another trial.
  REQUIRE_FALSE(db.measured(wl.key(), slot_of(target, 1), space.template_name, space.template_version - 1, default_cfg));

  // Two-thread trials continue from their own three.
  const TuneResult two_again = session(path.str(), wl, tune_options(5, "random"), 2);
  REQUIRE(two_again.trials == 5);
  REQUIRE(two_again.new_trials == 2);
}

TEST_CASE("resume loads a database with a garbage line and a torn last line, with warnings, and tunes on", "[tuner][resume]") {
  TempPath path("resume", ".jsonl");
  const Workload wl = parse_workload(kTiny);
  const std::string slot = slot_of(host_target(), 1);

  REQUIRE(session(path.str(), wl, tune_options(3, "gp")).new_trials == 3);
  {
    std::ostringstream warnings;
    const Database db = open_db(path.str(), warnings);
    const std::string whole = nlohmann::json(db.records().back()).dump();
    std::ofstream out(path.str(), std::ios::binary | std::ios::app);
    out << "this is not a record\n" << whole.substr(0, whole.size() / 2);  // a crash mid-write: no '\n'
  }

  std::ostringstream warnings;
  {
    Database db = open_db(path.str(), warnings);
    REQUIRE(db.records().size() == 3);
    INFO("warnings: " << warnings.str());
    REQUIRE_THAT(warnings.str(), Contains(path.str() + ":4: skipped a corrupt record"));
    REQUIRE_THAT(warnings.str(), Contains(path.str() + ":5: skipped a corrupt record (torn last line"));

    Measurer measurer(CONVTUNE_BINARY, quick_options());
    const TuneResult r = tune_workload(wl, host_target(), db, measurer, tune_options(6, "gp"));
    REQUIRE(r.trials == 6);
    REQUIRE(r.new_trials == 3);
  }

  // The torn line was closed before the first new record: only the two bad lines are lost.
  std::ostringstream after;
  const Database db = open_db(path.str(), after);
  INFO("warnings: " << after.str());
  REQUIRE(db.records().size() == 6);
  REQUIRE(db.find(wl.key(), slot).size() == 6);
  size_t warning_lines = 0;
  for (size_t at = after.str().find("warning:"); at != std::string::npos; at = after.str().find("warning:", at + 1)) ++warning_lines;
  REQUIRE(warning_lines == 2);
  REQUIRE_THAT(after.str(), !Contains("torn last line"));
}

TEST_CASE("A suite session spends exactly its budget and a longer one adds only the difference", "[tuner][resume][suite]") {
  TempPath path("suite", ".jsonl");
  const std::vector<Workload> layers = {parse_workload(kTiny), parse_workload("n=1,c=4,h=7,w=7,k=8,r=3,s=3,pad=1")};
  auto suite_session = [&](int trials) {
    std::ostringstream warnings;
    Database db = open_db(path.str(), warnings);
    Measurer measurer(CONVTUNE_BINARY, quick_options());
    return tune_suite(layers, host_target(), db, measurer, tune_options(trials, "random"));
  };
  auto total = [](const std::vector<TuneResult>& rs, bool only_new) {
    int n = 0;
    for (const TuneResult& r : rs) n += only_new ? r.new_trials : r.trials;
    return n;
  };
  const std::vector<TuneResult> first = suite_session(6);
  REQUIRE(first.size() == 2);
  CHECK(total(first, false) == 12);
  CHECK(total(first, true) == 12);
  for (const TuneResult& r : first) CHECK(r.trials >= 4);  // every layer gets its first batch

  // Resuming with a larger budget measures only what is missing, and never repeats a config.
  const std::vector<TuneResult> second = suite_session(9);
  CHECK(total(second, false) == 18);
  CHECK(total(second, true) == 6);
  std::ostringstream warnings;
  Database db = open_db(path.str(), warnings);
  CHECK(db.records().size() == 18);
  for (const Workload& wl : layers) {
    std::set<std::string> configs;
    for (const TrialRecord* r : db.find(wl.key(), target_slot(host_target().key(), 1))) {
      CHECK(configs.insert(r->config.dump()).second);
    }
  }
}

TEST_CASE("resume neither counts nor skips configs recorded under an older template version", "[tuner][resume]") {
  TempPath path("resume", ".jsonl");
  const Workload wl = parse_workload(kTiny);
  const Target target = host_target();
  const std::string slot = slot_of(target, 1);
  const KnobSpace space = knob_space(wl, target);

  // The default config's trial, then the same record rewritten as an older version's, absurdly fast.
  const TuneResult first = session(path.str(), wl, tune_options(1, "random"));
  REQUIRE(first.new_trials == 1);
  {
    std::ostringstream warnings;
    Database db = open_db(path.str(), warnings);
    TrialRecord old = db.records().front();
    REQUIRE(old.config == config_to_json(default_config(wl, target)));
    old.template_version = space.template_version - 1;
    old.gflops = 1e9;
    db.append(old);
  }

  const TuneResult second = session(path.str(), wl, tune_options(3, "random"));
  REQUIRE(second.trials == 3);
  REQUIRE(second.new_trials == 2);
  REQUIRE(second.best_gflops < 1e9);

  // A database holding only the old record measures the default config again.
  TempPath fresh("resume", ".jsonl");
  {
    std::ostringstream warnings;
    Database db = open_db(path.str(), warnings);
    Database copy = open_db(fresh.str(), warnings);
    copy.append(db.records()[1]);
  }
  const TuneResult third = session(fresh.str(), wl, tune_options(1, "random"));
  REQUIRE(third.new_trials == 1);
  std::ostringstream warnings;
  const Database db = open_db(fresh.str(), warnings);
  REQUIRE(db.records().size() == 2);
  REQUIRE(db.records()[1].template_version == space.template_version);
  REQUIRE(db.records()[1].config == db.records()[0].config);
}

TEST_CASE("two tune sessions on one database share their trials: no config measured twice beyond a batch in flight", "[tuner][shared][cli]") {
  TempPath dir("two_sessions", "");
  std::filesystem::create_directories(dir.str());
  const std::string d = dir.str() + "/", db = d + "tuned.jsonl";
  const std::string tune = convtune::testing::shell_quoted(CONVTUNE_BINARY) + " tune --workload n=1,c=16,h=10,w=10,k=16,r=3,s=3,pad=1 " +
                           "--trials 16 --batch 2 --repeat 2 --min-repeat-ms 5 --json --db " + convtune::testing::shell_quoted(db);
  // Both at once, different seeds (two users), the way the issue saw 30 + 30 trials duplicate.
  const std::string both = tune + " --seed 1 > " + d + "a.json 2> " + d + "a.err & " + tune + " --seed 2 > " + d + "b.json 2> " +
                           d + "b.err & wait";
  REQUIRE(std::system(both.c_str()) == 0);
  const nlohmann::json a = nlohmann::json::parse(convtune::testing::read_file(d + "a.json"));
  const nlohmann::json b = nlohmann::json::parse(convtune::testing::read_file(d + "b.json"));
  Database shared(db);
  std::ostringstream warnings;
  shared.load(warnings);
  CHECK(warnings.str().empty());
  const size_t total = shared.records().size();
  INFO("a: " << a.dump() << "\nb: " << b.dump());
  CHECK(int(total) == a["new_trials"].get<int>() + b["new_trials"].get<int>());
  // The budget is shared: 16 in all, plus at most the batch each had in flight.
  CHECK(total <= 16 + 2 * 2);
  std::map<std::string, int> times_measured;
  for (const TrialRecord& r : shared.records()) ++times_measured[r.config.dump()];
  int repeated = 0;
  for (const auto& [config, n] : times_measured) repeated += n - 1;
  // Only what both had in flight at once can repeat: both start with the three templates'
  // default configs (a batch at a time, the same ones), and their first designs are proposed
  // before either has seen the other's results.
  CHECK(repeated <= 3 + 2 * 2);
  // Each session counted what the other measured while it ran.
  CHECK(a["shared_trials"].get<int>() > 0);
  CHECK(b["shared_trials"].get<int>() > 0);
  CHECK(std::max(a["trials"].get<int>(), b["trials"].get<int>()) >= int(total) - 2 * 2);
}
