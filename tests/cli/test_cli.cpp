/// \file The `convtune` tool end to end: its JSON output, exit codes and exact error lines.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace convtune::testing;

namespace {

const std::string kTiny = "n=1,c=3,h=8,w=8,k=4,r=3,s=3,pad=1";

} // namespace

TEST_CASE("cli run checks and times a tiny layer and prints JSON", "[cli]") {
  const ToolRun o = run_convtune({"run", "--workload", kTiny, "--json", "--repeat", "1", "--min-repeat-ms", "1"});
  INFO("stderr: " << o.err);
  REQUIRE(o.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(o.out);
  REQUIRE(j.at("ok") == true);
  REQUIRE(j.at("max_abs_err").is_number());
  REQUIRE(j.at("max_abs_err").get<double>() >= 0);
  REQUIRE(j.at("max_abs_err").get<double>() < 1e-4);
  REQUIRE(j.at("gflops").get<double>() > 0);
  REQUIRE(j.at("median_ms").get<double>() > 0);
  REQUIRE(j.at("flops").get<double>() == 2.0 * 1 * 4 * 8 * 8 * 3 * 3 * 3);
  REQUIRE(j.at("threads") == 1);
  REQUIRE(j.at("ms_per_call").size() == 1);
  REQUIRE(j.at("workload").at("c") == 3);
  REQUIRE(j.at("workload").at("pad_top") == 1);
  REQUIRE(j.at("key") == "conv2d_f32_NCHW_n1_c3_h8_w8_k4_r3_s3_st1x1_pad1x1x1x1_dil1x1_g1");
}

TEST_CASE("cli run prints a readable report without --json", "[cli]") {
  const ToolRun o = run_convtune({"run", "--workload", "n=1,c=2,h=5,k=2,r=3,stride=2", "--repeat", "1",
                              "--min-repeat-ms", "1"});
  INFO("stderr: " << o.err);
  REQUIRE(o.exit_code == 0);
  REQUIRE_THAT(o.out, StartsWith("workload   n=1,c=2,h=5,w=5,k=2,r=3,s=3,stride=2,pad=0\n"));
  REQUIRE_THAT(o.out, Contains("check      ok ("));
  REQUIRE_THAT(o.out, Contains("speed      "));
}

TEST_CASE("cli run --stages times each stage of the kernel, in the ABI's order", "[cli]") {
  const ToolRun o = run_convtune({"run", "--workload", "n=1,c=8,h=10,w=9,k=16,r=3,s=3,pad=1", "--schedule", "winograd",
                                  "--stages", "--json", "--repeat", "1", "--min-repeat-ms", "1"});
  INFO("stderr: " << o.err);
  REQUIRE(o.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(o.out);
  const nlohmann::json& stages = j.at("stages");
  // One entry per ABI stage, named and kinded as the ABI has them.
  REQUIRE(stages.size() == j.at("abi").at("stages").size());
  std::vector<std::string> names;
  for (size_t s = 0; s < stages.size(); ++s) {
    REQUIRE(stages[s].at("name") == j.at("abi").at("stages")[s].at("name"));
    REQUIRE(stages[s].at("median_ms").get<double>() > 0);
    names.push_back(stages[s].at("name"));
  }
  REQUIRE(names == std::vector<std::string>{"weights_transformed", "pack_input_for_input_transformed", "input_transformed", "products",
                                            "output_transformed", "unpack_output_for_output_transformed"});
  REQUIRE(stages[3].at("kind") == "compute");
  REQUIRE(stages[0].at("kind") == "pack_weights");
  // Without --json: a line per stage after the speed.
  const ToolRun text = run_convtune({"run", "--workload", kTiny, "--stages", "--repeat", "1", "--min-repeat-ms", "1"});
  REQUIRE(text.exit_code == 0);
  REQUIRE_THAT(text.out, Contains("stages     each alone, median ms (share of the whole call):\n  pack_input    pack_input "));
  REQUIRE_THAT(text.out, Contains("\n  compute       conv "));
  // Without --stages the JSON has no profile.
  REQUIRE_FALSE(nlohmann::json::parse(run_convtune({"run", "--workload", kTiny, "--json", "--repeat", "1", "--min-repeat-ms", "1"}).out).contains("stages"));
}

TEST_CASE("cli show --json gives the flops and the nest of a suite layer", "[cli]") {
  const ToolRun o = run_convtune({"show", "--workload", "resnet18:C6", "--json"});
  INFO("stderr: " << o.err);
  REQUIRE(o.exit_code == 0);
  REQUIRE(o.err.empty());
  const nlohmann::json j = nlohmann::json::parse(o.out);
  REQUIRE(j.at("flops").get<double>() == 2.0 * 1 * 128 * 28 * 28 * 128 * 3 * 3);
  REQUIRE(j.at("output_shape") == nlohmann::json::array({1, 128, 28, 28}));
  REQUIRE(j.at("workload").at("name") == "resnet18:C6");
  REQUIRE(j.at("spec") == "n=1,c=128,h=28,w=28,k=128,r=3,s=3,stride=1,pad=1");
  const std::string nest = j.at("nest").get<std::string>();
  REQUIRE_THAT(nest, StartsWith("void conv(const float input[1][128][28][28], const float weights[128][128][3][3], "
                                "float output[1][128][28][28]) {\n"));
  REQUIRE_THAT(nest, Contains("if (ih >= 0 && ih < 28 && iw >= 0 && iw < 28) {"));
}

TEST_CASE("cli show without --json prints the summary and the nest", "[cli]") {
  const ToolRun o = run_convtune({"show", "--workload", "mb1ic2ih4oc2oh4kh3ph1"});
  INFO("stderr: " << o.err);
  REQUIRE(o.exit_code == 0);
  REQUIRE_THAT(o.out, StartsWith("workload      n=1,c=2,h=4,w=4,k=2,r=3,s=3,stride=1,pad=1\n"));
  REQUIRE_THAT(o.out, Contains("output        1 x 2 x 4 x 4 (NKPQ)\n"));
  REQUIRE_THAT(o.out, Contains("void conv("));
}

TEST_CASE("cli show lists every template that applies, with its space's size", "[cli]") {
  const ToolRun o = run_convtune({"show", "--workload", "resnet18:C6"});
  REQUIRE(o.exit_code == 0);
  CHECK_THAT(o.out, Contains("templates     direct_nchwc ("));
  CHECK_THAT(o.out, Contains(", im2col_gemm ("));
  CHECK_THAT(o.out, Contains(", winograd ("));
  // A strided layer: no Winograd. The JSON lists the same.
  const ToolRun strided = run_convtune({"show", "--workload", "resnet18:C5", "--json"});
  REQUIRE(strided.exit_code == 0);
  const nlohmann::json shown = nlohmann::json::parse(strided.out);
  std::vector<std::string> names;
  for (const auto& t : shown.at("templates")) {
    names.push_back(t.at("name"));
    CHECK(t.at("configs").get<uint64_t>() > 0);
  }
  CHECK(names == std::vector<std::string>{"direct_nchwc", "im2col_gemm"});
}

TEST_CASE("cli show of a hand schedule of another algorithm shows no template's knob space", "[cli]") {
  TempPath schedule("im2col_schedule", ".json");
  {
    std::ofstream f(schedule.str());
    f << R"({"algorithm": "im2col_gemm", "steps": [{"step": "split", "loop": "col", "factor": 5, "outer": "colo", "inner": "coli"}]})";
  }
  const ToolRun o = run_convtune({"show", "--workload", "n=1,c=3,h=7,w=7,k=4,r=3,s=3,pad=1", "--schedule", schedule.str()});
  INFO("stderr: " << o.err);
  REQUIRE(o.exit_code == 0);
  CHECK_THAT(o.out, Contains("knob space    none: the schedule names no template of its algorithm im2col_gemm\n"));
  CHECK_THAT(o.out, !Contains("of template direct_nchwc"));
  // The same layer without the schedule shows the space of the template that fits it.
  CHECK_THAT(run_convtune({"show", "--workload", "n=1,c=3,h=7,w=7,k=4,r=3,s=3,pad=1"}).out, Contains("of template direct_nchwc"));
}

TEST_CASE("cli refuses an invalid workload value with exit code 2", "[cli]") {
  require_user_error({"run", "--workload", "n=1,c=0,h=8,k=4,r=3"},
                     "convtune: error: invalid workload: c=0: must be at least 1");
  require_user_error({"show", "--workload", "n=1,c=4,h=8,k=4,r=3,groups=3"},
                     "convtune: error: invalid workload: groups=3: c=4 is not divisible by groups");
  require_user_error({"show", "--workload", "n=1,c=1,h=2,k=1,r=3"},
                     "convtune: error: invalid workload: r=3: dilated kernel height 3 exceeds padded input height 2");
}

TEST_CASE("cli refuses a malformed workload spec with exit code 2", "[cli]") {
  require_user_error({"run", "--workload", "n=1,c=3,h=8,k=4,r=3,x=2"},
                     "convtune: error: invalid workload spec: unknown key 'x'");
  require_user_error({"show", "--workload", "n=1,c=3,h=8,k=4"},
                     "convtune: error: invalid workload spec: missing key 'r'");
  require_user_error({"show", "--workload", "n=1,c=three,h=8,k=4,r=3"},
                     "convtune: error: invalid workload spec: key 'c' has value 'three': not an integer");
  require_user_error({"show", "--workload", "hello"},
                     "convtune: error: invalid workload spec 'hello': expected suite:LAYER, key=value,... or "
                     "a benchdnn descriptor");
}

TEST_CASE("cli refuses an unknown suite or layer with exit code 2", "[cli]") {
  require_user_error({"show", "--workload", "resnet99:C1"},
                     "convtune: error: unknown suite 'resnet99' (known: mobilenet, resnet18)");
  require_user_error({"run", "--workload", "resnet18:C99"},
                     "convtune: error: unknown layer 'C99' in suite 'resnet18' (known: C1, C2, C3, C4, C5, C6, "
                     "C7, C8, C9, C10, C11, C12)");
}

TEST_CASE("cli refuses an unknown option with exit code 2", "[cli]") {
  require_user_error({"run", "--workload", kTiny, "--bogus"},
                     "convtune: error: unknown option '--bogus' for 'convtune run' (see convtune run --help)");
  require_user_error({"show", "--bogus=1"},
                     "convtune: error: unknown option '--bogus' for 'convtune show' (see convtune show --help)");
  require_user_error({"show", "--workload", kTiny, "extra"},
                     "convtune: error: unexpected argument 'extra' for 'convtune show' (see convtune show --help)");
}

TEST_CASE("cli refuses an option without its value with exit code 2", "[cli]") {
  require_user_error({"run", "--workload"}, "convtune: error: option '--workload' needs a value (SPEC)");
  require_user_error({"run", "--workload", "--json"}, "convtune: error: option '--workload' needs a value (SPEC)");
  require_user_error({"show", "--workload", kTiny, "--json=1"}, "convtune: error: option '--json' takes no value");
  require_user_error({"show", "--workload", kTiny, "--workload", kTiny},
                     "convtune: error: option '--workload' given twice");
}

TEST_CASE("cli refuses a missing --workload with exit code 2", "[cli]") {
  require_user_error({"run", "--json"},
                     "convtune: error: missing option '--workload' for 'convtune run' (see convtune run --help)");
  require_user_error({"show"},
                     "convtune: error: missing option '--workload' for 'convtune show' (see convtune show --help)");
}

TEST_CASE("cli refuses an unknown command with exit code 2", "[cli]") {
  require_user_error({"frobnicate"}, "convtune: error: unknown command 'frobnicate' (see convtune --help)");
}

TEST_CASE("cli refuses a bad number of threads or repeats with exit code 2", "[cli]") {
  require_user_error({"run", "--workload", kTiny, "--threads", "0"},
                     "convtune: error: option '--threads' has value '0': must be at least 1");
  require_user_error({"run", "--workload", kTiny, "--threads", "two"},
                     "convtune: error: option '--threads' has value 'two': not an integer");
  require_user_error({"run", "--workload", kTiny, "--repeat", "0"},
                     "convtune: error: option '--repeat' has value '0': must be at least 1");
  require_user_error({"run", "--workload", kTiny, "--min-repeat-ms", "fast"},
                     "convtune: error: option '--min-repeat-ms' has value 'fast': not a number");
}

TEST_CASE("cli --help prints the usage and exits 0", "[cli]") {
  const ToolRun o = run_convtune({"--help"});
  REQUIRE(o.exit_code == 0);
  REQUIRE(o.err.empty());
  REQUIRE_THAT(o.out, Contains("usage: convtune COMMAND [options]"));
  REQUIRE_THAT(o.out, Contains("  show "));
  REQUIRE_THAT(o.out, Contains("  run "));
}

TEST_CASE("cli without arguments prints the usage to stderr and exits 2", "[cli]") {
  const ToolRun o = run_convtune({});
  REQUIRE(o.exit_code == 2);
  REQUIRE(o.out.empty());
  REQUIRE_THAT(o.err, Contains("usage: convtune COMMAND [options]"));
}

TEST_CASE("cli run --help lists every option and exits 0", "[cli]") {
  const ToolRun o = run_convtune({"run", "--help"});
  REQUIRE(o.exit_code == 0);
  REQUIRE(o.err.empty());
  REQUIRE_THAT(o.out, StartsWith("usage: convtune run --workload SPEC"));
  for (const char* option : {"--workload SPEC", "--target T", "--threads T", "--repeat N", "--min-repeat-ms MS",
                             "--seed S", "--dump-ir", "--json", "--help"}) {
    INFO(option);
    REQUIRE_THAT(o.out, Contains(std::string("  ") + option));
  }
  REQUIRE_THAT(o.out, Contains("(default 7)"));
}

TEST_CASE("cli show --help lists its options and exits 0", "[cli]") {
  const ToolRun o = run_convtune({"show", "--help"});
  REQUIRE(o.exit_code == 0);
  REQUIRE_THAT(o.out, StartsWith("usage: convtune show --workload SPEC"));
  REQUIRE_THAT(o.out, Contains("  --workload SPEC"));
  REQUIRE_THAT(o.out, Contains("  --json"));
}

TEST_CASE("cli --version prints the version", "[cli]") {
  const ToolRun o = run_convtune({"--version"});
  REQUIRE(o.exit_code == 0);
  REQUIRE_THAT(o.out, StartsWith("convtune 0."));
}

TEST_CASE("a workload whose tensors cannot fit is refused before anything is allocated, naming the largest", "[cli][memory]") {
  const std::string huge = "n=1,c=3,h=99999999999,w=8,k=2,r=3,s=3";
  const std::string line = "convtune: error: workload n=1,c=3,h=99999999999,w=8,k=2,r=3,s=3,stride=1,pad=0 needs 30.6 TiB for its "
                           "tensors (the largest, 'reference', is 17.5 TiB: two doubles per output element); --max-memory allows 1 GiB";
  convtune::testing::require_user_error({"run", "--workload", huge, "--max-memory", "1G"}, line);
  convtune::testing::require_user_error({"bench", "--workload", huge, "--max-memory", "1G"}, line);
  TempPath db("memory", ".jsonl");
  convtune::testing::require_user_error({"tune", "--workload", huge, "--max-memory", "1G", "--db", db.str()}, line);
  CHECK_FALSE(std::filesystem::exists(db.str()));  // refused before the database was touched
  // Without a limit, against what the machine has: the same refusal, the machine's figure.
  const auto run = run_convtune({"run", "--workload", huge});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("needs 30.6 TiB for its tensors") != std::string::npos);
  CHECK(run.err.find("is available (--max-memory sets another limit)\n") != std::string::npos);
  // A small layer under a small limit.
  convtune::testing::require_user_error({"run", "--workload", "n=1,c=64,h=9,w=9,r=3,s=3,op=maxpool", "--max-memory", "1K"},
                                        "convtune: error: workload n=1,c=64,h=9,w=9,k=64,r=3,s=3,stride=1,pad=0,op=maxpool needs 81.5 KiB "
                                        "for its tensors (the largest, 'reference', is 49 KiB: two doubles per output element); "
                                        "--max-memory allows 1 KiB");
  convtune::testing::require_user_error({"run", "--workload", "resnet18:C1", "--max-memory", "12X"},
                                        "convtune: error: --max-memory '12X' is not a size (e.g. 512M, 8G, 1.5T or bytes)");
  CHECK(run_convtune({"run", "--workload", "n=1,c=4,h=6,w=6,k=4,r=3,s=3", "--max-memory", "64M"}).exit_code == 0);
}
