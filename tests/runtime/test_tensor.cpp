/// \file Tensor: alignment, zero initialisation and the deterministic random fill.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "runtime/tensor.h"

using namespace convtune;

TEST_CASE("tensor data is 64-byte aligned and zero-initialised", "[runtime][tensor]") {
  for (int64_t elems : {1, 3, 16, 17, 1000, 4099}) {
    Tensor t(elems);
    REQUIRE(t.size() == elems);
    REQUIRE(t.data() != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
    for (int64_t i = 0; i < elems; ++i) REQUIRE(t[i] == 0.0f);
  }
}

TEST_CASE("an empty tensor has no data", "[runtime][tensor]") {
  Tensor empty(0);
  CHECK(empty.size() == 0);
  CHECK(empty.data() == nullptr);
  empty.fill_zero();
  empty.fill_random(1);
  Tensor def;
  CHECK(def.size() == 0);
  CHECK(def.data() == nullptr);
}

TEST_CASE("fill_zero clears a filled tensor", "[runtime][tensor]") {
  Tensor t(100);
  t.fill_random(7);
  t.fill_zero();
  for (int64_t i = 0; i < t.size(); ++i) REQUIRE(t[i] == 0.0f);
}

TEST_CASE("fill_random is deterministic and within -1 to 1", "[runtime][tensor]") {
  const int64_t elems = 10000;
  Tensor a(elems), b(elems), c(elems);
  a.fill_random(42);
  b.fill_random(42);
  c.fill_random(43);
  int64_t differing = 0;
  for (int64_t i = 0; i < elems; ++i) {
    REQUIRE(a[i] == b[i]);
    REQUIRE(a[i] >= -1.0f);
    REQUIRE(a[i] < 1.0f);
    // Every value sits on the 2^-23 grid, so it is exact on any machine.
    const float scaled = (a[i] + 1.0f) * 0x1p23f;
    REQUIRE(scaled == static_cast<float>(static_cast<int64_t>(scaled)));
    if (a[i] != c[i]) ++differing;
  }
  CHECK(differing > elems * 9 / 10);
}

TEST_CASE("fill_random uses splitmix64", "[runtime][tensor]") {
  // splitmix64 seeded with 0 first yields 0xE220A8397B1DCDAF; its top 24 bits are 0xE220A8.
  Tensor t(1);
  t.fill_random(0);
  CHECK(t[0] == static_cast<float>(0xE220A8) * 0x1p-23f - 1.0f);
}

TEST_CASE("fill_random uses the whole range", "[runtime][tensor]") {
  Tensor t(10000);
  t.fill_random(5);
  float lo = 1, hi = -1;
  double sum = 0;
  for (int64_t i = 0; i < t.size(); ++i) {
    lo = std::min(lo, t[i]);
    hi = std::max(hi, t[i]);
    sum += t[i];
  }
  CHECK(lo < -0.99f);
  CHECK(hi > 0.99f);
  CHECK(std::abs(sum / static_cast<double>(t.size())) < 0.05);
}

TEST_CASE("a moved-from tensor gives up its data", "[runtime][tensor]") {
  Tensor a(8);
  a.fill_random(3);
  const float* p = a.data();
  Tensor b = std::move(a);
  CHECK(b.data() == p);
  CHECK(b.size() == 8);
}
