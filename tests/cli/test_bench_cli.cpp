/// \file `convtune bench --json` on a small layer: every backend checked and timed, and its refusals.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "runtime/baseline.h"
#include "tests/test_support.h"

using namespace convtune;
using namespace convtune::testing;

namespace {
const char* kSmall = "n=1,c=8,h=9,w=9,k=16,r=3,s=3,pad=1";
}

TEST_CASE("bench --json returns ok rows for naive, im2col, onednn and default", "[cli][bench]") {
  // A fixed roofline keeps the test from spending a second on microbenchmarks.
  setenv("CONVTUNE_PEAK_GFLOPS", "100", 1);
  setenv("CONVTUNE_PEAK_GBS", "20", 1);
  TempPath db("bench_cli", ".jsonl");  // an empty database: no tuned record
  const ToolRun run = run_convtune({"bench", "--workload", kSmall, "--backends", "naive,im2col,onednn,default,tuned",
                                    "--repeat", "2", "--min-repeat-ms", "1", "--db", db.str(), "--json"});
  unsetenv("CONVTUNE_PEAK_GFLOPS");
  unsetenv("CONVTUNE_PEAK_GBS");
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(run.out);
  REQUIRE(j["results"].size() == 5);
  std::map<std::string, nlohmann::json> rows;
  for (const auto& r : j["results"]) rows[r["backend"].get<std::string>()] = r;
  for (const char* b : {"naive", "im2col", "default"}) {
    INFO("backend " << b);
    const auto& r = rows.at(b);
    CHECK(r["ok"] == true);
    CHECK(r["max_abs_err"].get<double>() < 1e-4);
    CHECK(r["median_ms"].get<double>() > 0);
    CHECK(r["gflops"].get<double>() > 0);
    CHECK(r["ms_per_call"].size() == 2);
  }
  // The convtune row reports its layout transforms apart from the kernel.
  CHECK(rows.at("default").contains("layout_ms"));
  if (onednn_available()) {
    CHECK(rows.at("onednn")["ok"] == true);
    CHECK(rows.at("default").contains("vs_onednn"));
  } else {
    CHECK(rows.at("onednn")["unavailable"].get<std::string>().find("unavailable") == 0);
  }
  // No database: the tuned row says so instead of failing.
  CHECK(rows.at("tuned")["ok"] == false);
  CHECK(rows.at("tuned")["unavailable"].get<std::string>().find("unavailable: no record") == 0);
  CHECK(j["ok"] == true);
  CHECK(j["roofline"]["source"] == "environment");
}

TEST_CASE("bench refuses bad backends and workload choices", "[cli][bench]") {
  require_user_error({"bench", "--workload", kSmall, "--backends", "fast"},
                     "convtune: error: invalid --backends entry 'fast': expected naive, im2col, onednn, default, predicted, tuned, depthwise_nchwc, direct_nchwc, im2col_gemm, winograd, sparse_direct, sparse_blocked, pool_nchwc, gpu_direct, gpu_im2col_gemm, gpu_depthwise, tuned:TEMPLATE or schedule:FILE");
  require_user_error({"bench", "--workload", kSmall, "--backends", "tuned:fastest"},
                     "convtune: error: unknown template 'fastest' (templates: depthwise_nchwc, direct_nchwc, im2col_gemm, winograd, sparse_direct, sparse_blocked, pool_nchwc, gpu_direct, gpu_im2col_gemm, gpu_depthwise)");
  require_user_error({"bench", "--workload", kSmall, "--suite", "resnet18"},
                     "convtune: error: bench needs exactly one of --workload and --suite");
  require_user_error({"bench", "--workload", kSmall, "--backends", "schedule:/nonexistent.json"},
                     "convtune: error: schedule file '/nonexistent.json' cannot be read");
}
