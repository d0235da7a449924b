/// \file Workload arithmetic, every validate() refusal, canonical keys, spec() and the JSON form.
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ir/workload.h"
#include "tests/test_support.h"

using convtune::Workload;

namespace {

/// A square, unit-stride convolution; tests change single fields from here.
Workload square(int64_t c, int64_t h, int64_t k, int64_t r, int64_t pad = 0) {
  Workload wl;
  wl.c = c;
  wl.h = wl.w = h;
  wl.k = k;
  wl.r = wl.s = r;
  wl.pad_top = wl.pad_left = wl.pad_bottom = wl.pad_right = pad;
  return wl;
}

/// A workload that uses every field in an unusual way.
Workload odd() {
  Workload wl;
  wl.n = 2;
  wl.c = 8;
  wl.h = 9;
  wl.w = 7;
  wl.k = 4;
  wl.r = 3;
  wl.s = 2;
  wl.stride_h = 2;
  wl.stride_w = 1;
  wl.pad_top = 0;
  wl.pad_left = 1;
  wl.pad_bottom = 2;
  wl.pad_right = 3;
  wl.dilation_h = 2;
  wl.dilation_w = 3;
  wl.groups = 2;
  return wl;
}

constexpr int64_t two_pow(int bits) { return int64_t{1} << bits; }

} // namespace

TEST_CASE("flops and bytes of ResNet-18 C6", "[workload]") {
  const Workload c6 = square(128, 28, 128, 3, 1);
  // 2 * N * K * P * Q * C * R * S with N = 1: about 0.23 GFLOP.
  REQUIRE(c6.flops() == 2.0 * 128 * 28 * 28 * 128 * 9);
  REQUIRE(c6.flops() == 231211008.0);
  REQUIRE(c6.bytes() == 4.0 * (128 * 28 * 28 + 128 * 128 * 9 + 128 * 28 * 28));
  REQUIRE(c6.arithmetic_intensity() == c6.flops() / c6.bytes());
  REQUIRE(c6.reduction_length() == 128 * 9);
}

TEST_CASE("flops of a grouped convolution count only each group's channels", "[workload]") {
  Workload dw = square(64, 112, 64, 3, 1);
  dw.groups = 64;
  dw.stride_h = dw.stride_w = 2;
  REQUIRE(dw.p() == 56);
  REQUIRE(dw.c_per_group() == 1);
  REQUIRE(dw.flops() == 2.0 * 64 * 56 * 56 * 1 * 9);
  REQUIRE(dw.weight_elems() == 64 * 9);
}

TEST_CASE("output size", "[workload]") {
  SECTION("stride 2 with symmetric pad") {
    Workload wl = square(64, 56, 128, 3, 1);
    wl.stride_h = wl.stride_w = 2;
    REQUIRE(wl.p() == 28);
    REQUIRE(wl.q() == 28);
  }
  SECTION("ResNet-18 C1: 7x7, stride 2, pad 3") {
    Workload wl = square(3, 224, 64, 7, 3);
    wl.stride_h = wl.stride_w = 2;
    REQUIRE(wl.p() == 112);
    REQUIRE(wl.q() == 112);
  }
  SECTION("stride 2 with the extra pad at the bottom only (TensorFlow SAME)") {
    Workload wl = square(8, 56, 8, 3);
    wl.stride_h = wl.stride_w = 2;
    wl.pad_bottom = wl.pad_right = 1;
    REQUIRE(wl.p() == 28);
    REQUIRE(wl.q() == 28);
  }
  SECTION("asymmetric pads count per side") {
    Workload wl = square(8, 10, 8, 3);
    wl.pad_top = 0;
    wl.pad_bottom = 2;
    wl.pad_left = 1;
    wl.pad_right = 0;
    REQUIRE(wl.p() == 10);
    REQUIRE(wl.q() == 9);
  }
  SECTION("dilation widens the kernel") {
    Workload wl = square(8, 10, 8, 3);
    wl.dilation_h = 2;
    wl.dilation_w = 3;
    REQUIRE(wl.p() == 6);
    REQUIRE(wl.q() == 4);
  }
  SECTION("different strides per axis") {
    const Workload wl = odd();
    REQUIRE(wl.p() == 4); // (9 + 2 - 5) / 2 + 1
    REQUIRE(wl.q() == 8); // (7 + 4 - 4) / 1 + 1
  }
}

TEST_CASE("validate accepts", "[workload]") {
  SECTION("ordinary layers") {
    REQUIRE_NOTHROW(square(64, 56, 64, 3, 1).validate());
    REQUIRE_NOTHROW(odd().validate());
  }
  SECTION("a kernel that fits only thanks to padding") {
    const Workload wl = square(1, 1, 1, 3, 1);
    REQUIRE_NOTHROW(wl.validate());
    REQUIRE(wl.p() == 1);
  }
  SECTION("very large pads") {
    Workload wl = square(1, 1, 1, 1);
    wl.pad_top = 1000000;
    REQUIRE_NOTHROW(wl.validate());
    REQUIRE(wl.p() == 1000001);
  }
  SECTION("a kernel exactly as large as the padded input") {
    const Workload wl = square(3, 5, 4, 7, 1);
    REQUIRE_NOTHROW(wl.validate());
    REQUIRE(wl.p() == 1);
  }
}

TEST_CASE("validate refuses", "[workload][refusal]") {
  struct Refusal {
    std::function<void(Workload&)> change;
    std::string message;
  };
  const std::vector<Refusal> refusals = {
      {[](Workload& w) { w.n = 0; }, "invalid workload: n=0: must be at least 1"},
      {[](Workload& w) { w.c = 0; }, "invalid workload: c=0: must be at least 1"},
      {[](Workload& w) { w.h = 0; }, "invalid workload: h=0: must be at least 1"},
      {[](Workload& w) { w.w = -3; }, "invalid workload: w=-3: must be at least 1"},
      {[](Workload& w) { w.k = 0; }, "invalid workload: k=0: must be at least 1"},
      {[](Workload& w) { w.r = 0; }, "invalid workload: r=0: must be at least 1"},
      {[](Workload& w) { w.s = -1; }, "invalid workload: s=-1: must be at least 1"},
      {[](Workload& w) { w.stride_h = 0; }, "invalid workload: stride_h=0: must be at least 1"},
      {[](Workload& w) { w.stride_w = -2; }, "invalid workload: stride_w=-2: must be at least 1"},
      {[](Workload& w) { w.pad_top = -1; }, "invalid workload: pad_top=-1: must be at least 0"},
      {[](Workload& w) { w.pad_left = -1; }, "invalid workload: pad_left=-1: must be at least 0"},
      {[](Workload& w) { w.pad_bottom = -4; }, "invalid workload: pad_bottom=-4: must be at least 0"},
      {[](Workload& w) { w.pad_right = -1; }, "invalid workload: pad_right=-1: must be at least 0"},
      {[](Workload& w) { w.dilation_h = 0; }, "invalid workload: dilation_h=0: must be at least 1"},
      {[](Workload& w) { w.dilation_w = 0; }, "invalid workload: dilation_w=0: must be at least 1"},
      {[](Workload& w) { w.groups = 0; }, "invalid workload: groups=0: must be at least 1"},
      {[](Workload& w) { w.dtype = "f16"; }, "invalid workload: dtype=f16: only f32 is supported"},
      {[](Workload& w) { w.layout = "NHWC"; }, "invalid workload: layout=NHWC: only NCHW is supported"},
      // The first invalid field in declaration order is the one named.
      {[](Workload& w) { w.groups = 0; w.c = 0; w.n = 0; }, "invalid workload: n=0: must be at least 1"},
      {[](Workload& w) { w.dtype = "f64"; w.pad_right = -1; },
       "invalid workload: pad_right=-1: must be at least 0"},
      {[](Workload& w) { w.groups = 3; },
       "invalid workload: groups=3: c=64 is not divisible by groups"},
      {[](Workload& w) { w.groups = 3; w.c = 66; },
       "invalid workload: groups=3: k=64 is not divisible by groups"},
      {[](Workload& w) { w.h = w.w = 5; w.r = 7; w.pad_top = w.pad_left = w.pad_bottom = w.pad_right = 0; },
       "invalid workload: r=7: dilated kernel height 7 exceeds padded input height 5"},
      {[](Workload& w) { w.w = 4; w.s = 3; w.dilation_w = 2; w.pad_left = w.pad_right = 0; },
       "invalid workload: s=3: dilated kernel width 5 exceeds padded input width 4"},
      {[](Workload& w) { w.h = 5; w.r = 3; w.dilation_h = two_pow(62); w.pad_top = w.pad_bottom = 0; },
       "invalid workload: r=3: dilated kernel height 9223372036854775809 exceeds padded input height 5"},
      {[](Workload& w) { w.n = two_pow(62); },
       "invalid workload: n=4611686018427387904: n*c*h*w overflows 64-bit index arithmetic"},
      {[](Workload& w) { w = square(two_pow(20), 1, two_pow(44), 1); },
       "invalid workload: k=17592186044416: k*(c/groups)*r*s overflows 64-bit index arithmetic"},
      {[](Workload& w) { w = square(1, 1, 1, 1); w.pad_top = w.pad_bottom = two_pow(62); },
       "invalid workload: h=1: h+pad_top+pad_bottom overflows 64-bit index arithmetic"},
      {[](Workload& w) { w = square(1, 1, 1, 1); w.pad_left = w.pad_right = two_pow(62); },
       "invalid workload: w=1: w+pad_left+pad_right overflows 64-bit index arithmetic"},
      {[](Workload& w) { w = square(1, two_pow(10), 16, 1); w.n = two_pow(40); },
       "invalid workload: n=1099511627776: n*k*p*q overflows 64-bit index arithmetic"},
      {[](Workload& w) { w = square(two_pow(20), two_pow(10), two_pow(24), 1); },
       "invalid workload: n=1: n*k*p*q*(c/groups)*r*s overflows 64-bit index arithmetic"},
  };
  for (size_t i = 0; i < refusals.size(); ++i) {
    DYNAMIC_SECTION(refusals[i].message) {
      Workload wl = square(64, 56, 64, 3, 1);
      REQUIRE_NOTHROW(wl.validate());
      refusals[i].change(wl);
      REQUIRE_USER_ERROR(wl.validate(), refusals[i].message);
    }
  }
}

TEST_CASE("canonical key", "[workload][key]") {
  const Workload base = square(64, 56, 64, 3, 1);
  REQUIRE(base.key() == "conv2d_f32_NCHW_n1_c64_h56_w56_k64_r3_s3_st1x1_pad1x1x1x1_dil1x1_g1");
  REQUIRE(odd().key() == "conv2d_f32_NCHW_n2_c8_h9_w7_k4_r3_s2_st2x1_pad0x1x2x3_dil2x3_g2");

  SECTION("the name is not part of it") {
    Workload named = base;
    named.name = "resnet18:C2";
    REQUIRE(named.key() == base.key());
    REQUIRE(named == base);
  }
  SECTION("every computing field changes it") {
    const std::vector<std::function<void(Workload&)>> changes = {
        [](Workload& w) { w.n = 2; },          [](Workload& w) { w.c = 32; },
        [](Workload& w) { w.h = 55; },         [](Workload& w) { w.w = 55; },
        [](Workload& w) { w.k = 32; },         [](Workload& w) { w.r = 1; },
        [](Workload& w) { w.s = 1; },          [](Workload& w) { w.stride_h = 2; },
        [](Workload& w) { w.stride_w = 2; },   [](Workload& w) { w.pad_top = 0; },
        [](Workload& w) { w.pad_left = 0; },   [](Workload& w) { w.pad_bottom = 0; },
        [](Workload& w) { w.pad_right = 0; },  [](Workload& w) { w.dilation_h = 2; },
        [](Workload& w) { w.dilation_w = 2; }, [](Workload& w) { w.groups = 2; },
        [](Workload& w) { w.dtype = "f16"; },  [](Workload& w) { w.layout = "NHWC"; },
    };
    std::set<std::string> keys = {base.key()};
    for (const auto& change : changes) {
      Workload variant = base;
      change(variant);
      CHECK(variant != base);
      keys.insert(variant.key());
    }
    REQUIRE(keys.size() == changes.size() + 1);
  }
  SECTION("swapping height and width changes it") {
    Workload a = square(8, 10, 8, 3);
    a.w = 12;
    Workload b = a;
    std::swap(b.h, b.w);
    REQUIRE(a.key() != b.key());
  }
}

TEST_CASE("spec text", "[workload][spec]") {
  REQUIRE(square(64, 56, 64, 3, 1).spec() == "n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1");
  REQUIRE(odd().spec() ==
          "n=2,c=8,h=9,w=7,k=4,r=3,s=2,stride=2:1,pad=0:1:2:3,dilation=2:3,groups=2");
  Workload dilated = square(16, 32, 16, 3, 2);
  dilated.dilation_h = dilated.dilation_w = 2;
  REQUIRE(dilated.spec() == "n=1,c=16,h=32,w=32,k=16,r=3,s=3,stride=1,pad=2,dilation=2");

  SECTION("parses back to an equal workload") {
    Workload same_tb = square(8, 10, 8, 3);
    same_tb.pad_top = same_tb.pad_bottom = 1; // H:W-shaped pads still print as t:l:b:r
    for (const Workload& wl : {square(64, 56, 64, 3, 1), odd(), dilated, same_tb}) {
      INFO(wl.spec());
      REQUIRE(convtune::parse_workload(wl.spec()) == wl);
    }
  }
}

TEST_CASE("JSON round trip", "[workload][json]") {
  Workload named = odd();
  named.name = "odd one";
  Workload tall = square(3, 17, 5, 4);
  tall.w = 3;
  tall.s = 1;
  tall.pad_bottom = 9;
  for (const Workload& wl : {square(64, 56, 64, 3, 1), odd(), named, tall}) {
    const nlohmann::json j = wl;
    INFO(j.dump());
    const Workload back = j.get<Workload>();
    REQUIRE(back == wl);
    REQUIRE(back.name == wl.name);
    REQUIRE(back.dtype == wl.dtype);
    REQUIRE(back.layout == wl.layout);
    // And through text, as the database stores it.
    REQUIRE(nlohmann::json::parse(j.dump()).get<Workload>() == wl);
  }

  SECTION("every field is written; the name only when set") {
    const nlohmann::json j = odd();
    REQUIRE(j.size() == 18);
    REQUIRE(j["pad_right"] == 3);
    REQUIRE(j["dilation_w"] == 3);
    REQUIRE(j["layout"] == "NCHW");
    REQUIRE_FALSE(j.contains("name"));
    REQUIRE(nlohmann::json(named)["name"] == "odd one");
  }
}

TEST_CASE("from_json defaults and leniency", "[workload][json]") {
  const auto j = nlohmann::json::parse(R"({"c": 3, "h": 8, "w": 9, "k": 4, "r": 3, "s": 1})");
  const Workload wl = j.get<Workload>();
  REQUIRE(wl.n == 1);
  REQUIRE(wl.w == 9);
  REQUIRE(wl.s == 1);
  REQUIRE(wl.stride_h == 1);
  REQUIRE(wl.pad_bottom == 0);
  REQUIRE(wl.dilation_w == 1);
  REQUIRE(wl.groups == 1);
  REQUIRE(wl.dtype == "f32");
  REQUIRE(wl.layout == "NCHW");
  REQUIRE(wl.name.empty());

  SECTION("it does not validate") {
    const auto bad = nlohmann::json::parse(R"({"c": 0, "h": 8, "w": 8, "k": 4, "r": 3, "s": 3})");
    Workload parsed;
    REQUIRE_NOTHROW(from_json(bad, parsed));
    REQUIRE(parsed.c == 0);
    REQUIRE_USER_ERROR(parsed.validate(), "invalid workload: c=0: must be at least 1");
  }
  SECTION("it replaces every field of the target") {
    Workload target = odd();
    target.name = "old";
    from_json(j, target);
    REQUIRE(target == wl);
    REQUIRE(target.name.empty());
  }
}

TEST_CASE("from_json refuses", "[workload][json][refusal]") {
  const std::string ok = R"("c": 3, "h": 8, "w": 8, "k": 4, "r": 3, "s": 3)";
  // A valid object with `extra` fields after the required ones.
  const auto with = [&](const std::string& extra) { return "{" + ok + ", " + extra + "}"; };
  const std::vector<std::pair<std::string, std::string>> refusals = {
      {"[1, 2]", "invalid workload JSON: expected an object, got array"},
      {with(R"("foo": 1)"), "invalid workload JSON: unknown field 'foo'"},
      // A misspelt optional field.
      {with(R"("stride": 2)"), "invalid workload JSON: unknown field 'stride'"},
      {R"({"c": "3", "h": 8, "w": 8, "k": 4, "r": 3, "s": 3})", "invalid workload JSON: field 'c' must be an integer"},
      {with(R"("pad_top": 1.5)"), "invalid workload JSON: field 'pad_top' must be an integer"},
      {with(R"("n": 18446744073709551615)"), "invalid workload JSON: field 'n' must be an integer in 64-bit range"},
      {with(R"("dtype": 32)"), "invalid workload JSON: field 'dtype' must be a string"},
      {with(R"("name": null)"), "invalid workload JSON: field 'name' must be a string"},
  };
  for (const auto& [text, message] : refusals) {
    DYNAMIC_SECTION(text) {
      Workload wl;
      REQUIRE_USER_ERROR(from_json(nlohmann::json::parse(text), wl), message);
    }
  }
  for (const char* field : {"c", "h", "w", "k", "r", "s"}) {
    DYNAMIC_SECTION("missing " << field) {
      auto j = nlohmann::json::parse("{" + ok + "}");
      j.erase(field);
      Workload wl;
      REQUIRE_USER_ERROR(from_json(j, wl),
                         "invalid workload JSON: missing field '" + std::string(field) + "'");
    }
  }
}
