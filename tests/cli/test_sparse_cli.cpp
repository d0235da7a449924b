/// \file Given weights from the command line: `run`, `bench`, `tune` and `compile` on pruned or
/// file weights, the sparse template among those a session searches, exact refusals of bad
/// weights options, and the database never applying a config to weights of another pattern.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

using Catch::Matchers::Contains;
using namespace convtune::testing;
using nlohmann::json;

namespace {

const std::string kTiny = "n=1,c=8,h=8,w=8,k=16,r=3,s=3,pad=1";

/// Raw KCRS f32 weights of kTiny: every `step`-th weight nonzero.
void write_weights(const std::string& path, int step) {
  std::vector<float> w(16 * 8 * 9, 0.0f);
  for (size_t i = 0; i < w.size(); i += size_t(step)) w[i] = float(i % 11) / 5 - 1;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(w.data()), std::streamsize(w.size() * 4));
}

} // namespace

TEST_CASE("cli run and bench take pruned weights and check the sparse kernel", "[cli][sparse]") {
  const json run = parse_stdout(run_convtune({"run", "--workload", kTiny, "--sparsity", "0.9", "--schedule", "sparse_direct", "--json",
                                              "--repeat", "1", "--min-repeat-ms", "1"}));
  REQUIRE(run.at("ok") == true);
  const json bench = parse_stdout(run_convtune({"bench", "--workload", kTiny, "--sparsity", "0.75", "--sparsity-block", "4", "--backends",
                                                "naive,default,sparse_direct", "--json", "--repeat", "1", "--min-repeat-ms", "1"}));
  for (const json& row : bench.at("results")) {
    INFO(row.dump());
    REQUIRE(row.at("ok") == true);
  }
}

TEST_CASE("cli refuses bad weights options naming them", "[cli][sparse]") {
  require_user_error({"run", "--workload", kTiny, "--weights", "/nonexistent/w.npy"},
                     "convtune: error: invalid weights file '/nonexistent/w.npy': it cannot be read");
  require_user_error({"bench", "--suite", "resnet18", "--weights", "/tmp/w.npy"},
                     "convtune: error: --weights names one layer's weights: use it with --workload, not --suite");
  require_user_error({"run", "--workload", kTiny, "--sparsity", "1.5"}, "convtune: error: invalid --sparsity '1.5': expected a fraction in [0, 1]");
  require_user_error({"run", "--workload", kTiny, "--sparsity-block", "2"}, "convtune: error: --sparsity-block needs --sparsity");
  require_user_error({"run", "--workload", kTiny, "--sparsity", "0.5", "--sparsity-block", "3"},
                     "convtune: error: invalid workload: sparsity_block=3: must divide k=16");
  require_user_error({"run", "--workload", kTiny, "--sparsity", "0.5", "--weights", "/tmp/w.npy"},
                     "convtune: error: --weights and --sparsity exclude each other");
  require_user_error({"run", "--workload", "n=1,c=8,h=8,w=8,k=8,r=3,s=3,op=maxpool", "--sparsity", "0.5"},
                     "convtune: error: invalid workload: weights=pruned: maxpool has no weights");
}

TEST_CASE("cli tune searches the sparse template on given weights, and their pattern keys the records", "[cli][sparse]") {
  TempPath db("sparse_cli", "-db.jsonl"), weights("sparse_cli", ".f32"), out("sparse_cli", ".o"), lib("sparse_cli", "-lib");
  write_weights(weights.str(), 3);
  const json tune = parse_stdout(run_convtune({"tune", "--workload", kTiny, "--weights", weights.str(), "--trials", "4", "--db", db.str(),
                                               "--json", "--repeat", "1", "--min-repeat-ms", "1"}));
  REQUIRE(tune.at("trials") == 4);
  // The first trials are the four templates' defaults: direct, im2col + GEMM, Winograd, sparse.
  const ToolRun csv = run_convtune({"db", "export", "--format", "csv", "--db", db.str()});
  REQUIRE(csv.exit_code == 0);
  REQUIRE_THAT(csv.out, Contains(",sparse_direct,"));
  REQUIRE_THAT(csv.out, Contains("_weights"));

  // The same weights compile from the database.
  const ToolRun compiled =
      run_convtune({"compile", "--workload", kTiny, "--weights", weights.str(), "--db", db.str(), "--name", "tiny", "-o", out.str()});
  INFO(compiled.err);
  REQUIRE(compiled.exit_code == 0);
  REQUIRE(compiled.err.empty());  // no "no tuned record" warning: the record's key is found
  // The same layer with its own (random) weights has no record: the sparse ones are not its.
  const json dense = parse_stdout(run_convtune({"bench", "--workload", kTiny, "--backends", "tuned", "--db", db.str(), "--json",
                                                "--repeat", "1", "--min-repeat-ms", "1"}));
  REQUIRE(dense.at("results").at(0).at("ok") == false);
  REQUIRE_THAT(dense.at("results").at(0).at("unavailable").get<std::string>(), Contains("no record"));

  // The file changes under the database: its records are refused, never applied.
  const std::string digest = [&] {
    const size_t at = csv.out.find("_weights");
    return csv.out.substr(at + 8, 16);
  }();
  write_weights(weights.str(), 2);
  const ToolRun all = run_convtune({"compile", "--all", "--db", db.str(), "-o", lib.str()});
  REQUIRE(all.exit_code == 2);
  REQUIRE_THAT(all.err, Contains("convtune: error: weights '" + weights.str() + "' have the pattern "));
  REQUIRE_THAT(all.err, Contains(", not the pattern " + digest + " the workload was tuned for"));
}
