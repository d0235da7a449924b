/// \file The built-in suites: their contents, lookups, refusals, keys and round trips.
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ir/suites.h"
#include "ir/workload.h"
#include "tests/test_support.h"

using convtune::suite_layer;
using convtune::suite_layers;
using convtune::suite_names;
using convtune::Workload;

namespace {

std::vector<Workload> all_layers() {
  std::vector<Workload> all;
  for (const std::string& suite : suite_names()) {
    for (const Workload& wl : suite_layers(suite)) all.push_back(wl);
  }
  return all;
}

} // namespace

TEST_CASE("suite names", "[suites]") {
  REQUIRE(suite_names() == std::vector<std::string>{"mobilenet", "resnet18"});
  REQUIRE(convtune::builtin_suite_texts().size() == 2);
  REQUIRE(all_layers().size() == 20);
}

TEST_CASE("ResNet-18 C1-C12 as in the TVM paper", "[suites]") {
  struct Row {
    int64_t c, hw, k, kernel, stride, pad;
  };
  const std::vector<Row> table = {
      {3, 224, 64, 7, 2, 3},    {64, 56, 64, 3, 1, 1},    {64, 56, 64, 1, 1, 0},
      {64, 56, 128, 3, 2, 1},   {64, 56, 128, 1, 2, 0},   {128, 28, 128, 3, 1, 1},
      {128, 28, 256, 3, 2, 1},  {128, 28, 256, 1, 2, 0},  {256, 14, 256, 3, 1, 1},
      {256, 14, 512, 3, 2, 1},  {256, 14, 512, 1, 2, 0},  {512, 7, 512, 3, 1, 1},
  };
  const std::vector<Workload> layers = suite_layers("resnet18");
  REQUIRE(layers.size() == table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    const Workload& wl = layers[i];
    const Row& row = table[i];
    INFO(wl.name);
    CHECK(wl.name == "resnet18:C" + std::to_string(i + 1));
    CHECK(wl.n == 1);
    CHECK(wl.c == row.c);
    CHECK(wl.h == row.hw);
    CHECK(wl.w == row.hw);
    CHECK(wl.k == row.k);
    CHECK(wl.r == row.kernel);
    CHECK(wl.s == row.kernel);
    CHECK(wl.stride_h == row.stride);
    CHECK(wl.stride_w == row.stride);
    CHECK(wl.pad_top == row.pad);
    CHECK(wl.pad_left == row.pad);
    CHECK(wl.pad_bottom == row.pad);
    CHECK(wl.pad_right == row.pad);
    CHECK(wl.dilation_h == 1);
    CHECK(wl.dilation_w == 1);
    CHECK(wl.groups == 1);
    // Every layer halves (stride 2) or keeps (stride 1) the spatial size.
    CHECK(wl.p() == row.hw / row.stride);
  }
}

TEST_CASE("MobileNet depthwise D2-D9 as in the TVM paper", "[suites]") {
  struct Row {
    int64_t c, hw, stride;
  };
  const std::vector<Row> table = {{64, 112, 2}, {128, 56, 1}, {128, 56, 2}, {256, 28, 1},
                                  {256, 28, 2}, {512, 14, 1}, {512, 14, 2}, {1024, 7, 1}};
  const std::vector<Workload> layers = suite_layers("mobilenet");
  REQUIRE(layers.size() == table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    const Workload& wl = layers[i];
    const Row& row = table[i];
    INFO(wl.name);
    CHECK(wl.name == "mobilenet:D" + std::to_string(i + 2));
    CHECK(wl.n == 1);
    CHECK(wl.c == row.c);
    CHECK(wl.k == row.c);
    CHECK(wl.groups == row.c);
    CHECK(wl.c_per_group() == 1);
    CHECK(wl.h == row.hw);
    CHECK(wl.w == row.hw);
    CHECK(wl.r == 3);
    CHECK(wl.s == 3);
    CHECK(wl.stride_h == row.stride);
    CHECK(wl.stride_w == row.stride);
    CHECK(wl.pad_top == 1);
    CHECK(wl.pad_right == 1);
    CHECK(wl.p() == row.hw / row.stride);
  }
}

TEST_CASE("suite_layer looks up one layer", "[suites]") {
  const Workload c6 = suite_layer("resnet18", "C6");
  REQUIRE(c6.name == "resnet18:C6");
  REQUIRE(c6.flops() == 2.0 * 128 * 28 * 28 * 128 * 9);
  REQUIRE(suite_layer("mobilenet", "D9").c == 1024);
  REQUIRE(convtune::parse_workload("resnet18:C6").name == "resnet18:C6");
}

TEST_CASE("suite lookups refuse", "[suites][refusal]") {
  SECTION("unknown suite") {
    REQUIRE_USER_ERROR(suite_layers("resnet19"), "unknown suite 'resnet19' (known: mobilenet, resnet18)");
    REQUIRE_USER_ERROR(suite_layer("resnet19", "C1"), "unknown suite 'resnet19' (known: mobilenet, resnet18)");
  }
  SECTION("unknown layer") {
    REQUIRE_USER_ERROR(suite_layer("resnet18", "C13"),
                       "unknown layer 'C13' in suite 'resnet18' (known: C1, C2, C3, C4, C5, C6, C7, "
                       "C8, C9, C10, C11, C12)");
  }
  SECTION("layer names are case-sensitive") {
    REQUIRE_USER_ERROR(suite_layer("mobilenet", "d4"),
                       "unknown layer 'd4' in suite 'mobilenet' (known: D2, D3, D4, D5, D6, D7, D8, D9)");
  }
}

TEST_CASE("every suite layer is valid, distinct and round-trips", "[suites][workload]") {
  const std::vector<Workload> layers = all_layers();
  std::set<std::string> keys;
  for (const Workload& wl : layers) {
    INFO(wl.name);
    REQUIRE_NOTHROW(wl.validate());
    keys.insert(wl.key());

    const nlohmann::json j = wl;
    const Workload back = nlohmann::json::parse(j.dump()).get<Workload>();
    CHECK(back == wl);
    CHECK(back.name == wl.name);

    CHECK(convtune::parse_workload(wl.spec()) == wl);
    CHECK(convtune::parse_workload(wl.name) == wl);
  }
  REQUIRE(keys.size() == layers.size());
}
