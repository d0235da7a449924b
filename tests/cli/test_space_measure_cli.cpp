/// \file `convtune space` and `convtune measure`, the open interface any searcher drives
/// convtune through: the space's templates, knobs and defaults as JSON; configs measured through
/// the worker into the same database a tuning session reads; exact refusals before measuring.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/workload.h"
#include "targets/target.h"
#include "tests/test_support.h"

using Catch::Matchers::Contains;
using namespace convtune::testing;
using nlohmann::json;

namespace {

const std::string kTiny = "n=1,c=8,h=8,w=8,k=16,r=3,s=3,pad=1";

std::vector<std::string> template_names(const json& space) {
  std::vector<std::string> out;
  for (const json& t : space.at("templates")) out.push_back(t.at("template").get<std::string>());
  return out;
}

} // namespace

TEST_CASE("cli space lists each template that applies with its knobs, values and default", "[cli][space]") {
  const json space = parse_stdout(run_convtune({"space", "--workload", kTiny, "--json"}));
  REQUIRE(template_names(space) == std::vector<std::string>{"direct_nchwc", "im2col_gemm", "winograd"});
  uint64_t total = 0;
  for (const json& t : space.at("templates")) {
    INFO(t.at("template"));
    uint64_t product = 1;
    for (const json& k : t.at("knobs")) {
      const std::vector<int64_t> values = k.at("values").get<std::vector<int64_t>>();
      REQUIRE_FALSE(values.empty());
      product *= values.size();
      // The default config takes one of the knob's values.
      const int64_t d = t.at("default_config").at(k.at("name").get<std::string>()).get<int64_t>();
      REQUIRE(std::find(values.begin(), values.end(), d) != values.end());
    }
    REQUIRE(t.at("size").get<uint64_t>() == product);
    REQUIRE(t.at("constraints").empty());
    // A tile knob says which extent of the layer it tiles: the output channels of every template.
    const auto oc = std::find_if(t.at("knobs").begin(), t.at("knobs").end(), [](const json& k) { return k.at("name") == "oc_bn"; });
    REQUIRE(oc != t.at("knobs").end());
    REQUIRE(oc->at("extent").get<int64_t>() == convtune::parse_workload(kTiny).k);
    total += product;
  }
  REQUIRE(space.at("size").get<uint64_t>() == total);
  // Given weights bring the sparse template; --template keeps one.
  const json sparse = parse_stdout(run_convtune({"space", "--workload", kTiny, "--sparsity", "0.5", "--json"}));
  REQUIRE(template_names(sparse).back() == "sparse_direct");
  const json one = parse_stdout(run_convtune({"space", "--workload", kTiny, "--template", "winograd", "--json"}));
  REQUIRE(template_names(one) == std::vector<std::string>{"winograd"});
}

TEST_CASE("cli measure appends the configs it measures to the database a tuning session reads", "[cli][measure]") {
  TempPath db("measure_cli", "-db.jsonl"), configs("measure_cli", ".json");
  const json space = parse_stdout(run_convtune({"space", "--workload", kTiny, "--json"}));
  json list = json::array();
  for (const json& t : space.at("templates")) list.push_back({{"template", t.at("template")}, {"config", t.at("default_config")}});
  std::ofstream(configs.str()) << list.dump();
  const json m = parse_stdout(run_convtune({"measure", "--workload", kTiny, "--configs", configs.str(), "--db", db.str(), "--json",
                                            "--repeat", "1", "--min-repeat-ms", "1"}));
  REQUIRE(m.at("results").size() == 3);
  for (const json& r : m.at("results")) {
    INFO(r.dump());
    REQUIRE(r.at("ok") == true);
    REQUIRE(r.at("gflops").get<double>() > 0);
  }
  // A session over the same templates counts them as its trials (they are its defaults).
  const json tune = parse_stdout(run_convtune({"tune", "--workload", kTiny, "--trials", "3", "--db", db.str(), "--json",
                                               "--repeat", "1", "--min-repeat-ms", "1"}));
  REQUIRE(tune.at("trials") == 3);
  REQUIRE(tune.at("new_trials") == 0);
}

TEST_CASE("the worker holds a Winograd candidate to Winograd's error bound, not direct's", "[cli][measure]") {
  // A depthwise layer sums 9 taps: the direct bound is tight, and F(4x4, 3x3)'s transforms
  // round more than that; a correct Winograd kernel failed as wrong_result before.
  TempPath db("measure_wino", "-db.jsonl"), configs("measure_wino", ".json");
  // One vector of output channels: the only oc_bn a depthwise layer's space holds (8 on AVX2, 16 on AVX-512).
  const int64_t lanes = convtune::host_target().vector_lanes();
  std::ofstream(configs.str()) << R"([{"template": "winograd", "config": {"ic_bn": 1, "oc_bn": )" << lanes << R"(, "t_bn": 6, "tile": 4}}])";
  const json m = parse_stdout(run_convtune({"measure", "--workload", "n=1,c=32,h=112,w=112,k=32,r=3,s=3,pad=1,groups=32,epilogue=bias_relu6",
                                            "--configs", configs.str(), "--db", db.str(), "--json", "--repeat", "1", "--min-repeat-ms", "1"}));
  REQUIRE(m.at("results").size() == 1);
  INFO(m.dump());
  CHECK(m["results"][0].at("ok") == true);
}

TEST_CASE("cli measure refuses a bad configs file before measuring, naming the entry", "[cli][measure]") {
  TempPath db("measure_cli", "-db.jsonl"), configs("measure_cli", ".json");
  const auto refused = [&](const std::string& text, const std::string& line) {
    std::ofstream(configs.str()) << text;
    require_user_error({"measure", "--workload", kTiny, "--configs", configs.str(), "--db", db.str()}, line);
  };
  refused("[]", "convtune: error: --configs file '" + configs.str() + "' must hold a non-empty JSON array of configs");
  refused(R"([{"template": "direct_nchwc", "config": {"oc_bn": 7}}])",
          "convtune: error: --configs entry 0: config: knob 'oc_bn' = 7 is not in the direct_nchwc space");
  refused(R"([{"template": "direct_nchwc", "config": {"oc_bn": 16}}])", "convtune: error: --configs entry 0: config: missing knob 'ic_bn'");
  refused(R"([{"template": "depthwise_nchwc", "config": {}}])",
          "convtune: error: --configs entry 0: template 'depthwise_nchwc' does not apply to n=1,c=8,h=8,w=8,k=16,r=3,s=3,stride=1,pad=1 on target 'cpu'");
  refused(R"([{"template": "winograd", "config": {"tile": 5, "oc_bn": 16, "ic_bn": 8, "t_bn": 4}}])",
          "convtune: error: --configs entry 0: config: knob 'tile' = 5 is not in the winograd space");
  // Nothing reached the database.
  std::ifstream written(db.str());
  REQUIRE(written.peek() == std::ifstream::traits_type::eof());
}
