/// \file The target factory: good names and what they give, bad names refused naming the value,
/// and whether this host can run a target's code.
#include <catch2/catch.hpp>

#include "targets/target.h"
#include "tests/test_support.h"

using namespace convtune;

TEST_CASE("Named x86 targets give their triple, CPU, vector width and registers", "[targets]") {
  struct Row {
    const char* name;
    int vector_bits, registers;
    const char* has;      ///< a feature the target has
    const char* lacks;    ///< one it does not
  };
  const Row rows[] = {
      {"x86-64-v2", 128, 16, "sse4.2", "avx"},
      {"x86-64-v3", 256, 16, "fma", "avx512f"},
      {"x86-64-v4", 512, 32, "avx512f", "amx-tile"},
      {"haswell", 256, 16, "avx2", "avx512f"},
      {"znver3", 256, 16, "avx2", "avx512f"},
      {"znver4", 512, 32, "avx512bw", "amx-tile"},
      {"skylake-avx512", 512, 32, "avx512dq", "avx512vbmi"},
      {"sapphirerapids", 512, 32, "amx-tile", "sse4a"},
  };
  for (const Row& r : rows) {
    INFO(r.name);
    const Target t = parse_target(r.name);
    CHECK(t.kind == TargetKind::Cpu);
    CHECK(t.name == r.name);
    CHECK(t.cpu == r.name);
    CHECK(t.triple.rfind("x86_64", 0) == 0);
    CHECK(t.vector_bits == r.vector_bits);
    CHECK(t.vector_lanes() == r.vector_bits / 32);
    CHECK(t.vector_registers == r.registers);
    CHECK(t.has_feature(r.has));
    CHECK_FALSE(t.has_feature(r.lacks));
    CHECK(t.key().find(r.name) != std::string::npos);
  }
}

TEST_CASE("cpu and host name the host, its vector shape follows its features", "[targets]") {
  const Target host = parse_target("cpu");
  CHECK(host.name == "cpu");
  CHECK(parse_target("host").key() == host.key());
  CHECK(host.vector_bits == (host.has_feature("avx512f") ? 512 : host.has_feature("avx") ? 256 : 128));
  CHECK(host.vector_registers == (host.has_feature("avx512f") ? 32 : 16));
  CHECK_NOTHROW(require_host_can_run(host));
}

TEST_CASE("CUDA targets parse, and without a CUDA driver the host refuses them in one line", "[targets]") {
  const Target t = parse_target("cuda:sm_80");
  CHECK(t.kind == TargetKind::Cuda);
  CHECK(t.triple == "nvptx64-nvidia-cuda");
  CHECK(t.cpu == "sm_80");
  CHECK(t.sm == 80);
  CHECK(parse_target("cuda").cpu == "sm_90");
  if (convtune::testing::cuda_driver_present()) {
    WARN("a CUDA driver is installed here");  // Catch2 2 has no skip: the case passes with a warning
    return;
  }
  REQUIRE_USER_ERROR(require_host_can_run(t), "target 'cuda:sm_80' cannot run here: no CUDA driver (libcuda.so.1 could not be loaded)");
}

TEST_CASE("Bad target names are refused naming the value", "[targets]") {
  const std::string cpu_expected =
      "': expected cpu, cuda:sm_XX, an x86-64 level (x86-64-v2, x86-64-v3, x86-64-v4) or an x86 CPU LLVM knows "
      "(haswell, skylake-avx512, znver3, znver4, ...)";
  for (const char* bad : {"gpu", "x86-64-v9", "znver99", "ZNVER4", "cpu ", "avx512"}) {
    REQUIRE_USER_ERROR(parse_target(bad), std::string("invalid --target '") + bad + cpu_expected);
  }
  REQUIRE_USER_ERROR(parse_target(""), "invalid --target '': expected cpu, cuda:sm_XX or an x86 CPU name");
  const std::string cuda_expected =
      "': expected cuda:sm_XX with XX one of 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90";
  for (const char* bad : {"cuda:sm_91", "cuda:sm_", "cuda:90", "cuda:sm_9x", "cuda:", "cuda:sm_0000090"}) {
    REQUIRE_USER_ERROR(parse_target(bad), std::string("invalid --target '") + bad + cuda_expected);
  }
}

TEST_CASE("A target whose features the host lacks is refused naming them", "[targets]") {
  const Target host = host_target();
  // One of these is missing on any x86 host: Intel has no clzero, AMD no AMX, AVX2-only hosts no AVX-512.
  const std::pair<const char*, const char*> candidates[] = {
      {"x86-64-v4", "avx512f"}, {"sapphirerapids", "amx-tile"}, {"znver4", "clzero"}};
  bool refused_one = false;
  for (const auto& [name, feature] : candidates) {
    const Target t = parse_target(name);
    if (host.has_feature(feature)) continue;
    INFO(name << " on host " << host.cpu);
    REQUIRE_THROWS_WITH(require_host_can_run(t), Catch::Matchers::StartsWith(std::string("target '") + name +
                                                                              "' cannot run on this host (" + host.cpu +
                                                                              "): it lacks ") &&
                                                     Catch::Matchers::Contains(feature));
    refused_one = true;
  }
  CHECK(refused_one);
}
