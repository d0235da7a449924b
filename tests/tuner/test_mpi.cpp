/// \file Tuning under mpirun (OpenMPI on localhost, oversubscribed): rank 0 searches and writes
/// the database, the other ranks measure; ranks that would measure on different targets are
/// refused before anything runs, naming them. Skipped where mpirun is not installed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/workload.h"

#include "targets/target.h"
#include "tests/test_support.h"
#include "tuner/database.h"

using namespace convtune;
using Catch::Matchers::Contains;
using convtune::testing::TempPath;
using convtune::testing::read_file;
using convtune::testing::shell;

namespace {

const char* kTiny = "n=1,c=8,h=6,w=6,k=16,r=3,s=3,pad=1";

bool have_mpirun() { return shell("command -v mpirun >/dev/null 2>&1") == 0; }

/// mpirun on this machine as root, more ranks than cores allowed. OpenMPI's own allocations
/// are not this project's leaks: LeakSanitizer is off for the ranks (a no-op without it).
std::string mpirun() { return "ASAN_OPTIONS=detect_leaks=0:handle_segv=0 mpirun --allow-run-as-root --oversubscribe"; }

/// Each candidate gets 120 s, not the default 10: this test plants no hang, and a sanitized
/// build's compiles on 3 ranks (and their workers) sharing 2 cores with another test ran past
/// 10 s in CI, a compile_timeout that is not what the test is about.
std::string tune_words(const std::string& db, const std::string& target) {
  return std::string(CONVTUNE_BINARY) + " tune --workload " + kTiny + " --target " + target + " --trials 8 --batch 4" +
         " --repeat 1 --min-repeat-ms 1 --timeout 120 --db " + db + " --json";
}

} // namespace

TEST_CASE("mpirun -np 3: rank 0 searches, ranks 1 and 2 measure, the database holds every trial", "[tuner][mpi]") {
  if (!have_mpirun()) {
    WARN("mpirun not found (openmpi-bin): skipped");
    return;
  }
  TempPath db("mpi_db", ".jsonl"), out("mpi_out", ".json"), err("mpi_err", ".txt");
  const int rc = shell(mpirun() + " -np 3 " + tune_words(db.str(), "cpu") + " > " + out.str() + " 2> " + err.str());
  INFO(read_file(err.str()));
  REQUIRE(rc == 0);
  const nlohmann::json j = nlohmann::json::parse(read_file(out.str()));
  CHECK(j["trials"] == 8);
  CHECK(j["new_trials"] == 8);
  REQUIRE(j["mpi"]["ranks"] == 3);
  const std::vector<int> by_rank = j["mpi"]["measured_by_rank"];
  REQUIRE(by_rank.size() == 3);
  CHECK(by_rank[0] == 0);
  CHECK(by_rank[1] >= 1);
  CHECK(by_rank[2] >= 1);
  CHECK(by_rank[1] + by_rank[2] == 8);

  // Rank 0 alone wrote the database: every trial once, each config once, all measured.
  Database check(db.str());
  std::ostringstream warnings;
  check.load(warnings);
  CHECK(warnings.str().empty());
  REQUIRE(check.records().size() == 8);
  std::set<std::string> configs;
  for (const TrialRecord& r : check.records()) {
    CHECK(r.workload_key == parse_workload(kTiny).key());
    INFO("trial " << r.template_name << " " << r.config.dump() << " failed: " << r.error);
    CHECK(r.ok);
    CHECK(r.gflops > 0);
    configs.insert(r.template_name + r.config.dump());
  }
  CHECK(configs.size() == 8);
}

TEST_CASE("mpirun: ranks that would measure on different targets are refused, naming them", "[tuner][mpi]") {
  if (!have_mpirun()) {
    WARN("mpirun not found (openmpi-bin): skipped");
    return;
  }
  TempPath db("mpi_db", ".jsonl"), err("mpi_err", ".txt");
  // Two ranks on the host's own target, the third on x86-64-v3 (which this host also runs).
  const int rc = shell(mpirun() + " -np 2 " + tune_words(db.str(), "cpu") + " : -np 1 " + tune_words(db.str(), "x86-64-v3") +
                       " > /dev/null 2> " + err.str());
  CHECK(rc != 0);
  const std::string host = target_slot(host_target().key(), 1);
  const std::string other = target_slot(parse_target("x86-64-v3").key(), 1);
  CHECK_THAT(read_file(err.str()), Contains("convtune: error: the ranks of this MPI job measure on different targets: rank 0 has " +
                                            host + ", rank 2 has " + other));
  CHECK_FALSE(std::filesystem::exists(db.str()));  // refused before the database was touched
}
