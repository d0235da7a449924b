/// \file kill -9 of a tuning session: no completed record lost, no worker left behind, and the
/// rerun measures only what is missing. With real processes.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"
#include "tuner/database.h"

using namespace convtune;
using convtune::testing::read_file;
using convtune::testing::TempPath;

namespace {

/// The processes whose environment holds `marker` (the tuner's workers inherit it).
int processes_marked(const std::string& marker) {
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "environ", std::ios::binary);
    std::stringstream env;
    env << in.rdbuf();
    if (env.str().find(marker) != std::string::npos) ++found;
  }
  return found;
}

} // namespace

TEST_CASE("kill -9 of a tuning session loses no record, leaves no worker, and the rerun measures only what is missing", "[tuner][kill][cli]") {
  TempPath dir("kill", "");
  std::filesystem::create_directories(dir.str());
  const std::string db = dir.str() + "/tuned.jsonl";
  const std::string marker = "CONVTUNE_TEST_KILL_MARK=" + std::to_string(::getpid()) + "_" + std::to_string(std::rand());
  const std::vector<std::string> args = {"tune", "--workload", "n=1,c=16,h=10,w=10,k=16,r=3,s=3,pad=1", "--trials", "14",
                                         "--batch", "2", "--repeat", "3", "--min-repeat-ms", "20", "--db", db};
  const pid_t tuner = fork();
  REQUIRE(tuner >= 0);
  if (tuner == 0) {
    putenv(const_cast<char*>(marker.c_str()));
    std::vector<char*> argv = {const_cast<char*>(CONVTUNE_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
    execv(CONVTUNE_BINARY, argv.data());
    _exit(127);
  }
  // Kill it once a few trials are on disk, in the middle of the session.
  const auto start = std::chrono::steady_clock::now();
  while (convtune::testing::non_empty_lines(db) < 4 && std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(kill(tuner, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(tuner, &status, 0) == tuner);
  REQUIRE(WIFSIGNALED(status));

  // Every line on disk is a whole record (a completed trial was fsynced before the next).
  const size_t on_disk = convtune::testing::non_empty_lines(db);
  Database after(db);
  std::ostringstream warnings;
  after.load(warnings);
  CHECK(warnings.str().empty());
  CHECK(after.records().size() == on_disk);
  REQUIRE(on_disk >= 4);
  REQUIRE(on_disk < 14);

  // The worker died with its tuner (no orphan measuring on).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (processes_marked(marker) > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(processes_marked(marker) == 0);

  // The rerun counts what is there and measures only the rest.
  std::vector<std::string> rerun = args;
  rerun.push_back("--json");
  const auto again = convtune::testing::run_convtune(rerun);
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(again.out);
  CHECK(j["trials"] == 14);
  CHECK(j["new_trials"] == int(14 - on_disk));
  CHECK(convtune::testing::non_empty_lines(db) == 14);
}
