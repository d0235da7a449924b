/// \file `convtune tune` and `convtune db` end to end: the JSON of a session, its best config checked by `run`, the database queries, and exact refusals.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/workload.h"
#include "tests/test_support.h"

using Catch::Matchers::Contains;
using namespace convtune::testing;
using nlohmann::json;

namespace {

/// How many lines `text` holds.
size_t lines_of(const std::string& text) {
  size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

const std::string kTiny = "n=1,c=8,h=8,w=8,k=16,r=3,s=3,pad=1";

std::vector<std::string> tune_args(const std::string& db) {
  return {"tune", "--workload", kTiny, "--trials", "6", "--db", db, "--json", "--repeat", "1", "--min-repeat-ms", "1", "--seed", "3"};
}

} // namespace

TEST_CASE("cli tune prints a session as JSON and the database answers for it", "[cli][tune]") {
  TempPath db("tune_cli", "-db.jsonl");
  const json j = parse_stdout(run_convtune(tune_args(db.str())));

  REQUIRE(j.at("trials") == 6);
  REQUIRE(j.at("new_trials") == 6);
  REQUIRE(j.at("tuner") == "bted");
  REQUIRE(j.at("db") == db.str());
  REQUIRE(j.at("failed").is_object());
  REQUIRE(j.at("failed").empty());
  REQUIRE(j.at("failed_total") == 0);
  // What a trial cost: positive, and under the 10 s timeout each trial is held to.
  REQUIRE(j.at("seconds_per_trial").get<double>() > 0);
  REQUIRE(j.at("seconds_per_trial").get<double>() < 10);
  // Resident sizes around the session, the tuner's and its worker's, are read from /proc.
  REQUIRE(j.at("tuner_rss_kb").at("start").get<long>() > 0);
  REQUIRE(j.at("tuner_rss_kb").at("end").get<long>() >= j.at("tuner_rss_kb").at("start").get<long>() / 2);
  REQUIRE(j.at("worker_rss_kb").at("last").get<long>() > 0);
  const json& best = j.at("best");
  REQUIRE(best.at("config").is_object());
  REQUIRE_FALSE(best.at("config").empty());
  const double best_gflops = best.at("gflops").get<double>();
  REQUIRE(best_gflops > 0);
  REQUIRE(best.at("median_ms").get<double>() > 0);

  const std::vector<double> curve = j.at("curve").get<std::vector<double>>();
  REQUIRE(curve.size() == 6);
  for (size_t i = 1; i < curve.size(); ++i) REQUIRE(curve[i] >= curve[i - 1]);
  REQUIRE(curve.back() == best_gflops);

  // The default config is trial 1 of the same session (the curve starts at it); the best is
  // the maximum over all trials, so it is at least that fast by construction.
  const double default_gflops = j.at("default_gflops").get<double>();
  REQUIRE(default_gflops > 0);
  REQUIRE(best_gflops >= default_gflops);
  REQUIRE(curve.front() == default_gflops);

  // The session searched every template that applies to a 3x3 layer: each one's default
  // config was among the first trials.
  const std::string best_template = best.at("template").get<std::string>();
  REQUIRE((best_template == "direct_nchwc" || best_template == "im2col_gemm" || best_template == "winograd"));

  // The best config computes the right result.
  TempPath schedule("tune_cli", ".json");
  std::ofstream(schedule.str()) << json{{"template", best_template}, {"config", best.at("config")}}.dump();
  const json run = parse_stdout(run_convtune({"run", "--workload", kTiny, "--schedule", schedule.str(), "--json", "--repeat", "1", "--min-repeat-ms", "1"}));
  REQUIRE(run.at("ok") == true);
  REQUIRE(run.at("gflops").get<double>() > 0);

  // db best names the same config.
  const json rec = parse_stdout(run_convtune({"db", "best", "--workload", kTiny, "--db", db.str(), "--json"}));
  REQUIRE(rec.at("config") == best.at("config"));
  REQUIRE(rec.at("ok") == true);
  REQUIRE(rec.at("gflops").get<double>() == best_gflops);

  // db export has a header and one row per trial.
  const ToolRun csv = run_convtune({"db", "export", "--format", "csv", "--db", db.str()});
  INFO("stderr: " << csv.err);
  REQUIRE(csv.exit_code == 0);
  REQUIRE(csv.err.empty());
  REQUIRE(lines_of(csv.out) == 7);
  REQUIRE(csv.out.rfind("timestamp,workload_key,target_slot,template,config,ok,error,median_ms,gflops\n", 0) == 0);
  for (const char* t : {",direct_nchwc,", ",im2col_gemm,", ",winograd,"}) REQUIRE_THAT(csv.out, Contains(t));

  // bench's tuned row is the best of them, and each template tuned has a row of its own.
  const json bench = parse_stdout(run_convtune({"bench", "--workload", kTiny, "--backends", "tuned", "--db", db.str(), "--json",
                                                "--repeat", "1", "--min-repeat-ms", "1"}));
  std::vector<std::string> rows;
  for (const json& row : bench.at("results")) {
    REQUIRE(row.at("ok") == true);
    rows.push_back(row.at("backend").get<std::string>());
    if (row.at("backend") == "tuned") REQUIRE_THAT(row.at("detail").get<std::string>(), Contains("tuned " + best_template + " "));
  }
  std::sort(rows.begin(), rows.end());
  REQUIRE(rows == std::vector<std::string>{"tuned", "tuned:direct_nchwc", "tuned:im2col_gemm", "tuned:winograd"});

  // db list names the workload key.
  const ToolRun list = run_convtune({"db", "list", "--db", db.str()});
  REQUIRE(list.exit_code == 0);
  REQUIRE_THAT(list.out, Contains(convtune::parse_workload(kTiny).key()));
  REQUIRE_THAT(list.out, Contains("6 trials"));

  // A second session with the same trial count measures nothing new.
  const json again = parse_stdout(run_convtune(tune_args(db.str())));
  REQUIRE(again.at("trials") == 6);
  REQUIRE(again.at("new_trials") == 0);
  REQUIRE(again.at("best").at("config") == best.at("config"));
}

TEST_CASE("cli tune refuses an unknown tuner with exit code 2", "[cli][tune]") {
  TempPath db("tune_cli", "-db.jsonl");
  require_user_error({"tune", "--workload", kTiny, "--tuner", "foo", "--db", db.str()},
                     "convtune: error: invalid --tuner 'foo': expected bted, gp, anneal or random");
  REQUIRE_FALSE(std::filesystem::exists(db.str()));
}

TEST_CASE("cli tune refuses zero trials with exit code 2", "[cli][tune]") {
  TempPath db("tune_cli", "-db.jsonl");
  require_user_error({"tune", "--workload", kTiny, "--trials", "0", "--db", db.str()},
                     "convtune: error: option '--trials' has value '0': must be at least 1");
}

TEST_CASE("cli tune refuses a database path that is a directory with exit code 2", "[cli][tune]") {
  TempPath dir("tune_cli", ".d");
  std::filesystem::create_directory(dir.str());
  require_user_error({"tune", "--workload", kTiny, "--trials", "1", "--db", dir.str()},
                     "convtune: error: cannot open tuning database '" + dir.str() + "': Is a directory");
}

TEST_CASE("cli tune refuses both or neither of --workload and --suite with exit code 2", "[cli][tune]") {
  require_user_error({"tune", "--trials", "1"}, "convtune: error: tune needs exactly one of --workload and --suite");
}

TEST_CASE("cli db best refuses a workload with no records with exit code 2", "[cli][tune]") {
  TempPath db("tune_cli", "-db.jsonl");
  const std::string key = convtune::parse_workload(kTiny).key();
  const ToolRun o = run_convtune({"db", "best", "--workload", kTiny, "--db", db.str()});
  INFO("stderr: " << o.err);
  REQUIRE(o.exit_code == 2);
  REQUIRE(o.out.empty());
  REQUIRE_THAT(o.err, Contains("convtune: error: no successful record for workload " + key));
}
