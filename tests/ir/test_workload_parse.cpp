/// \file parse_workload: the three spellings agree, and every refusal has its exact message.
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "ir/suites.h"
#include "ir/workload.h"
#include "tests/test_support.h"

using convtune::parse_workload;
using convtune::suite_layer;
using convtune::Workload;

TEST_CASE("the three spellings name the same workload", "[workload][parse]") {
  SECTION("ResNet-18 C6") {
    const Workload suite = parse_workload("resnet18:C6");
    const Workload spec = parse_workload("n=1,c=128,h=28,w=28,k=128,r=3,s=3,stride=1,pad=1");
    const Workload benchdnn = parse_workload("mb1ic128ih28oc128oh28kh3ph1");
    REQUIRE(suite == spec);
    REQUIRE(suite == benchdnn);
    REQUIRE(suite.name == "resnet18:C6");
    REQUIRE(spec.name.empty());
  }
  SECTION("ResNet-18 C1: 7x7, stride 2") {
    const Workload benchdnn = parse_workload("mb1ic3ih224oc64oh112kh7sh2ph3");
    REQUIRE(benchdnn == suite_layer("resnet18", "C1"));
    REQUIRE(benchdnn.pad_bottom == 3);
    REQUIRE(benchdnn.p() == 112);
    REQUIRE(parse_workload("c=3,h=224,k=64,r=7,stride=2,pad=3") == benchdnn);
  }
  SECTION("benchdnn with every width part spelt out") {
    REQUIRE(parse_workload("mb1ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1") ==
            parse_workload("resnet18:C2"));
  }
  SECTION("a depthwise layer with g") {
    const Workload dw = parse_workload("g32mb1ic32ih112oc32oh112kh3ph1");
    REQUIRE(dw.groups == 32);
    REQUIRE(dw.c_per_group() == 1);
    REQUIRE(dw == parse_workload("n=1,c=32,h=112,k=32,r=3,pad=1,groups=32"));
    REQUIRE(parse_workload("g128mb1ic128ih56oc128oh28kh3sh2ph1") == suite_layer("mobilenet", "D4"));
    REQUIRE(parse_workload("mobilenet:D4") ==
            parse_workload("n=1,c=128,h=56,k=128,r=3,stride=2,pad=1,groups=128"));
  }
  SECTION("benchdnn dilation is zero-based") {
    const Workload dilated = parse_workload("mb1ic16ih32oc16oh32kh3ph2dh1");
    REQUIRE(dilated.dilation_h == 2);
    REQUIRE(dilated.dilation_w == 2);
    REQUIRE(dilated == parse_workload("n=1,c=16,h=32,k=16,r=3,pad=2,dilation=2"));
    REQUIRE(parse_workload("mb1ic16ih32oc16kh3dh0").dilation_h == 1);
    const Workload mixed = parse_workload("mb1ic16ih32oc16kh3dh0dw2");
    REQUIRE(mixed.dilation_h == 1);
    REQUIRE(mixed.dilation_w == 3);
  }
}

TEST_CASE("inline spec", "[workload][parse]") {
  SECTION("defaults: n=1, w=h, s=r, stride 1, pad 0") {
    const Workload wl = parse_workload("c=3,h=8,k=4,r=3");
    REQUIRE(wl.n == 1);
    REQUIRE(wl.w == 8);
    REQUIRE(wl.s == 3);
    REQUIRE(wl.stride_h == 1);
    REQUIRE(wl.stride_w == 1);
    REQUIRE(wl.pad_top == 0);
    REQUIRE(wl.pad_right == 0);
    REQUIRE(wl.dilation_h == 1);
    REQUIRE(wl.groups == 1);
  }
  SECTION("keys in any order, spaces around them") {
    REQUIRE(parse_workload(" r=3 , k=4,h = 8,c=3 ") == parse_workload("c=3,h=8,k=4,r=3"));
  }
  SECTION("pairs") {
    const Workload wl = parse_workload("c=3,h=8,w=9,k=4,r=3,s=2,stride=2:1,dilation=1:2");
    REQUIRE(wl.w == 9);
    REQUIRE(wl.s == 2);
    REQUIRE(wl.stride_h == 2);
    REQUIRE(wl.stride_w == 1);
    REQUIRE(wl.dilation_h == 1);
    REQUIRE(wl.dilation_w == 2);
  }
  SECTION("pad H:W means top = bottom = H, left = right = W") {
    const Workload wl = parse_workload("c=3,h=8,k=4,r=3,pad=1:2");
    REQUIRE(wl.pad_top == 1);
    REQUIRE(wl.pad_bottom == 1);
    REQUIRE(wl.pad_left == 2);
    REQUIRE(wl.pad_right == 2);
  }
  SECTION("pad T:L:B:R") {
    const Workload wl = parse_workload("c=3,h=8,k=4,r=3,pad=0:1:2:3");
    REQUIRE(wl.pad_top == 0);
    REQUIRE(wl.pad_left == 1);
    REQUIRE(wl.pad_bottom == 2);
    REQUIRE(wl.pad_right == 3);
  }
  SECTION("surrounding whitespace is ignored") {
    REQUIRE(parse_workload("  resnet18:C6\n") == parse_workload("resnet18:C6"));
  }
}

TEST_CASE("benchdnn descriptor", "[workload][parse]") {
  SECTION("mb defaults to 2, as in benchdnn") {
    const Workload wl = parse_workload("ic3ih8oc4kh3");
    REQUIRE(wl.n == 2);
    REQUIRE(wl.w == 8);
    REQUIRE(wl.s == 3);
    REQUIRE(wl.pad_top == 0);
    REQUIRE(wl.p() == 6);
  }
  SECTION("separate width parts") {
    const Workload wl = parse_workload("mb1ic3ih8iw10oc4oh6ow8kh3kw3");
    REQUIRE(wl.w == 10);
    REQUIRE(wl.q() == 8);
    REQUIRE(wl.pad_right == 0);
  }
  SECTION("oh smaller than symmetric padding gives: the bottom pad shrinks") {
    const Workload wl = parse_workload("mb1ic8ih5oc8oh4kh3ph1");
    REQUIRE(wl == parse_workload("c=8,h=5,k=8,r=3,pad=1:1:0:0"));
    REQUIRE(wl.p() == 4);
  }
  SECTION("oh larger than symmetric padding gives: the bottom pad grows (TensorFlow SAME)") {
    const Workload wl = parse_workload("mb1ic8ih56oc8oh28kh3sh2ph0");
    REQUIRE(wl == parse_workload("c=8,h=56,k=8,r=3,stride=2,pad=0:0:1:1"));
    REQUIRE(wl.p() == 28);
  }
  SECTION("symmetric padding is kept when the floor already gives oh") {
    const Workload wl = parse_workload("mb1ic8ih8oc8oh4kh3sh2ph1");
    REQUIRE(wl.pad_bottom == 1);
    REQUIRE(wl.pad_right == 1);
  }
  SECTION("only ow given: the bottom pad stays symmetric") {
    const Workload wl = parse_workload("mb1ic8ih8oc8ow9kh3ph1");
    REQUIRE(wl.pad_bottom == 1);
    REQUIRE(wl.pad_right == 2);
  }
  SECTION("name parts") {
    const Workload quoted = parse_workload("mb1ic3ih224oc64oh112kh7sh2ph3n\"resnet_18:conv1\"");
    REQUIRE(quoted.name == "resnet_18:conv1");
    REQUIRE(quoted == suite_layer("resnet18", "C1"));
    REQUIRE(parse_workload("mb1ic3ih8oc4kh3_n\"x=1\"").name == "x=1");
    REQUIRE(parse_workload("mb1ic3ih8oc4kh3nconv1").name == "conv1");
    REQUIRE(parse_workload("mb1ic3ih8oc4kh3").name.empty());
  }
}

TEST_CASE("parse_workload refuses", "[workload][parse][refusal]") {
  const std::vector<std::pair<std::string, std::string>> refusals = {
      // Detection.
      {"", "invalid workload spec: empty"},
      {"  \t", "invalid workload spec: empty"},
      {"hello", "invalid workload spec 'hello': expected suite:LAYER, key=value,... or a benchdnn "
                "descriptor"},
      {"resnet18:C6:x", "invalid workload spec 'resnet18:C6:x': expected suite:LAYER, key=value,... "
                        "or a benchdnn descriptor"},
      // Suite entries.
      {"resnet19:C1", "unknown suite 'resnet19' (known: mobilenet, resnet18)"},
      {"resnet18:C13", "unknown layer 'C13' in suite 'resnet18' (known: C1, C2, C3, C4, C5, C6, "
                       "C7, C8, C9, C10, C11, C12)"},
      // Inline specs.
      {"h=8,k=4,r=3", "invalid workload spec: missing key 'c'"},
      {"c=3,k=4,r=3", "invalid workload spec: missing key 'h'"},
      {"c=3,h=8,r=3", "invalid workload spec: missing key 'k'"},
      {"c=3,h=8,k=4", "invalid workload spec: missing key 'r'"},
      {"c=3,h=8,k=4,r=3,foo=1", "invalid workload spec: unknown key 'foo'"},
      {"c=3,h=8,k=4,r=3,pad_top=1", "invalid workload spec: unknown key 'pad_top'"},
      {"c=x,h=8,k=4,r=3", "invalid workload spec: key 'c' has value 'x': not an integer"},
      {"c=,h=8,k=4,r=3", "invalid workload spec: key 'c' has value '': not an integer"},
      {"c=+3,h=8,k=4,r=3", "invalid workload spec: key 'c' has value '+3': not an integer"},
      {"c=3.0,h=8,k=4,r=3", "invalid workload spec: key 'c' has value '3.0': not an integer"},
      {"c=0x10,h=8,k=4,r=3", "invalid workload spec: key 'c' has value '0x10': not an integer"},
      {"c=99999999999999999999,h=8,k=4,r=3",
       "invalid workload spec: key 'c' has value '99999999999999999999': not an integer in range"},
      {"c=3,c=4,h=8,k=4,r=3", "invalid workload spec: key 'c' given twice"},
      {"c=3,h=8,k=4,r=3,stride=1:2:3",
       "invalid workload spec: key 'stride' has value '1:2:3': expected N or H:W"},
      {"c=3,h=8,k=4,r=3,stride=2:x", "invalid workload spec: key 'stride' has value '2:x': not an integer"},
      {"c=3,h=8,k=4,r=3,dilation=", "invalid workload spec: key 'dilation' has value '': not an integer"},
      {"c=3,h=8,k=4,r=3,pad=1:2:3",
       "invalid workload spec: key 'pad' has value '1:2:3': expected N, H:W or T:L:B:R"},
      {"c=3,h=8,k=4,r=3,pad=1:1:y:1", "invalid workload spec: key 'pad' has value '1:1:y:1': not an integer"},
      {"c=3,,h=8,k=4,r=3", "invalid workload spec: empty entry in 'c=3,,h=8,k=4,r=3'"},
      {"c=3,h=8,k=4,r=3,", "invalid workload spec: empty entry in 'c=3,h=8,k=4,r=3,'"},
      {"c=3,h,k=4,r=3", "invalid workload spec: 'h' is not key=value"},
      // Inline specs that parse but do not validate.
      {"c=0,h=8,k=4,r=3", "invalid workload: c=0: must be at least 1"},
      {"c=3,h=8,k=4,r=3,pad=-1", "invalid workload: pad_top=-1: must be at least 0"},
      {"c=3,h=8,k=4,r=3,stride=1:0", "invalid workload: stride_w=0: must be at least 1"},
      {"c=64,h=8,k=64,r=3,groups=3", "invalid workload: groups=3: c=64 is not divisible by groups"},
      {"c=3,h=5,k=4,r=7", "invalid workload: r=7: dilated kernel height 7 exceeds padded input height 5"},
      // benchdnn descriptors.
      {"mb1ih8oc4kh3", "invalid workload spec: missing 'ic'"},
      {"mb1ic3ih8kh3", "invalid workload spec: missing 'oc'"},
      {"mb1ic3oc4kh3", "invalid workload spec: missing 'ih'"},
      {"mb1ic3ih8oc4", "invalid workload spec: missing 'kh'"},
      {"mb1ic3id8ih8oc4kh3", "invalid workload spec: 3-D convolutions (id) are not supported"},
      {"mb1ic3ih8oc4kh3kd3", "invalid workload spec: 3-D convolutions (kd) are not supported"},
      {"mb1ic3ih8oc4kh3xy5", "invalid workload spec: unknown benchdnn part 'xy5'"},
      {"mb1ic3ih8OC4kh3", "invalid workload spec: unknown benchdnn part 'OC4'"},
      {"mb1ic3ih8oc4kh", "invalid workload spec: benchdnn part 'kh' has no value"},
      {"mb1ic3ic4ih8oc4kh3", "invalid workload spec: benchdnn part 'ic' given twice (3 and 4)"},
      {"mb1ic3ih8oc4kh3 sh1", "invalid workload spec: unexpected ' ' in benchdnn descriptor "
                              "'mb1ic3ih8oc4kh3 sh1'"},
      {"mb1ic3ih8oc4kh3_sh1-", "invalid workload spec: unexpected '-' in benchdnn descriptor 'mb1ic3ih8oc4kh3_sh1-'"},
      {"mb1ic99999999999999999999ih8oc4kh3",
       "invalid workload spec: part 'ic' has value '99999999999999999999': not an integer in range"},
      {"mb1ic3ih8oc4kh3dh9223372036854775807",
       "invalid workload spec: part 'dh' has value '9223372036854775807': not an integer in range"},
      {"mb1ic8ih10oc8oh2kh3", "invalid workload spec: oh=2 does not match ih, kh, sh, ph"},
      {"mb1ic8ih10oc8oh0kh3", "invalid workload spec: oh=0 does not match ih, kh, sh, ph"},
      {"mb1ic8ih10oc8oh8ow2kh3", "invalid workload spec: ow=2 does not match iw, kw, sw, pw"},
      {"mb1ic3ih8oc4kh3n\"abc", "invalid workload spec: benchdnn name 'n\"abc' lacks its closing quote"},
      // benchdnn descriptors that parse but do not validate.
      {"mb0ic3ih8oc4kh3", "invalid workload: n=0: must be at least 1"},
      {"mb1ic3ih8oc4kh3ph-1", "invalid workload: pad_top=-1: must be at least 0"},
      {"g3mb1ic64ih8oc64kh3", "invalid workload: groups=3: c=64 is not divisible by groups"},
      {"mb1ic3ih8oc4kh3sh0", "invalid workload: stride_h=0: must be at least 1"},
  };
  for (const auto& [text, message] : refusals) {
    DYNAMIC_SECTION("'" << text << "'") { REQUIRE_USER_ERROR(parse_workload(text), message); }
  }
}

TEST_CASE("pooling and epilogue workloads parse, print and key apart from plain convolutions", "[workload][parse]") {
  const Workload pool = parse_workload("n=1,c=8,h=9,w=9,r=3,stride=2,pad=1,op=maxpool");
  CHECK(pool.k == 8);  // pooling keeps the channels
  CHECK(pool.weight_elems() == 0);
  CHECK(pool.reduction_length() == 9);
  CHECK(pool.spec() == "n=1,c=8,h=9,w=9,k=8,r=3,s=3,stride=2,pad=1,op=maxpool");
  CHECK(pool.key().rfind("maxpool2d_f32_NCHW_", 0) == 0);
  CHECK(parse_workload(pool.spec()) == pool);
  const Workload avg = parse_workload("n=1,c=8,h=9,w=9,r=3,pad=1,op=avgpool,count_include_pad=1");
  CHECK(avg.key() != parse_workload("n=1,c=8,h=9,w=9,r=3,pad=1,op=avgpool").key());
  CHECK(parse_workload(avg.spec()) == avg);

  const Workload plain = parse_workload("n=1,c=8,h=9,w=9,k=16,r=3,pad=1");
  const Workload fused = parse_workload("n=1,c=8,h=9,w=9,k=16,r=3,pad=1,epilogue=bias_add_relu");
  // A plain convolution's key is what it was before epilogues existed: old records keep it.
  CHECK(plain.key() == "conv2d_f32_NCHW_n1_c8_h9_w9_k16_r3_s3_st1x1_pad1x1x1x1_dil1x1_g1");
  CHECK(fused.key() == plain.key() + "_bias_add_relu");
  CHECK(fused.spec() == plain.spec() + ",epilogue=bias_add_relu");
  const nlohmann::json j = plain;
  CHECK_FALSE(j.contains("op"));
  CHECK_FALSE(j.contains("epilogue"));
  CHECK_FALSE(j.contains("count_include_pad"));
  const nlohmann::json jf = fused;
  CHECK(jf["epilogue"] == "bias_add_relu");
  CHECK(jf.get<Workload>() == fused);
}

TEST_CASE("pooling and epilogue workloads refuse what does not fit, naming the field", "[workload][parse][refusal]") {
  const std::vector<std::pair<std::string, std::string>> refusals = {
      {"c=4,h=8,k=4,r=3,op=conv2d", "invalid workload: op=conv2d: expected conv, maxpool or avgpool"},
      {"c=4,h=8,k=4,r=3,epilogue=relu", "invalid workload: epilogue=relu: expected none, bias, bias_relu, bias_relu6, bias_add, bias_add_relu or bias_add_relu6"},
      {"c=4,h=8,k=8,r=3,op=maxpool", "invalid workload: k=8: maxpool keeps the channels: k must equal c=4"},
      {"c=4,h=8,k=4,r=3,groups=2,op=avgpool", "invalid workload: groups=2: avgpool has no groups"},
      {"c=4,h=8,r=3,op=maxpool,epilogue=bias", "invalid workload: epilogue=bias: maxpool takes no epilogue"},
      {"c=4,h=8,r=3,op=maxpool,count_include_pad=1", "invalid workload: count_include_pad=1: only avgpool counts padded taps"},
      {"c=4,h=8,r=3,op=avgpool,count_include_pad=2", "invalid workload: count_include_pad=2: expected 0 or 1"},
      {"c=4,h=8,r=3,pad=3,op=maxpool", "invalid workload: pad_top=3: maxpool pads must be smaller than the window height 3"},
      {"c=4,h=8,r=3,pad=0:0:0:3,op=avgpool", "invalid workload: pad_right=3: avgpool pads must be smaller than the window width 3"},
      {"c=4,h=2,w=8,r=2,dilation=3:1,pad=1,op=maxpool", "invalid workload: dilation_h=3: maxpool dilation must not exceed h=2"},
  };
  for (const auto& [spec, message] : refusals) {
    INFO(spec);
    REQUIRE_USER_ERROR(parse_workload(spec), message);
  }
}

TEST_CASE("benchdnn descriptors exactly as oneDNN's shape files write them", "[ir][workload][benchdnn]") {
  // Lines of oneDNN's tests/benchdnn/inputs/conv/shapes_tails, shapes_regression_dw and
  // shapes_regression_padding, names and all: '_' between parts, a part repeated, sides left
  // out, the minibatch left to benchdnn's default of 2.
  const char* lines[] = {
      "ic32oc13_ih13oh12kh3ph0_n\"tails_conv:1\"",
      "ic64oc33_ih13oh13kh3ph1_n\"tails_conv:2\"",
      "g64ic512oc512_ih240oh120kh3sh2dh0ph1_n\"tails_conv:21\"",
      "g1ic4ih84oc16oh20kh8sh4ph0_n\"tails_conv:23\"",
      "g4ic20ih5oc20oh5kh3ph1_n\"tails_conv:24\"",
      "ic29oc65_ih13oh13kh1ph0_n\"tails_conv_1x1:20\"",
      "ic19oc32_iw13ow12kw3pw1_n\"tails_conv_1d:1\"",
      "ic20oc32_iw13kw1pw0_n\"tails_conv_1d_1x1:2\"",
      "ic207oc207_ih5oh5kh3ph1_n\"2d_conv:large_channel_tail\"",
      "mb1_g16ic16oc16_ih202oh202kh1sh1dh0ph0_iw202ow202kw7sw1dw0pw3",
      "mb1_g64ic64oc64_ih201oh202kh1sh1dh0ph0_iw202ow202kw7sw1dw0pw3",
      "mb1_g16ic16oc16_ih16kh3oh9_sh2ph2",
      "mb1_g16ic16oc16_ih15oh7kh6sh2ph3_iw10ow10kw3",
      "mb1_g16ic16oc16_ih10oh10kh3_iw15ow8kw1sw2pw0",
      "mb1_g7ic7oc7_ih32oh32kh5ph2",
      "g128mb1ic128ih56oh29oc128kh4sh2ph1",
      "g113mb1ic113ih1oc113oh1kh3ph1n\"depthwise_channel_tail_nxc_format\"",
      "mb1ic16oc16_ih10kh5_kh5ph7sh1",
      "mb1ic16oc16_ih10kh1_kh1ph3sh1",
      "mb1_ic128ih1_oc16oh1_kh3_ph1",
  };
  for (const char* line : lines) {
    INFO(line);
    CHECK_NOTHROW(parse_workload(line));
  }
  SECTION("what they mean") {
    const Workload tails = parse_workload("ic32oc13_ih13oh12kh3ph0_n\"tails_conv:1\"");
    CHECK(tails.name == "tails_conv:1");
    CHECK(tails == parse_workload("n=2,c=32,h=13,w=13,k=13,r=3,s=3,pad=0:0:1:1"));
    // A width side of its own: its stride is 1 and its pad centres ow, whatever the height's.
    CHECK(parse_workload("mb1_g16ic16oc16_ih15oh7kh6sh2ph3_iw10ow10kw3") ==
          parse_workload("n=1,c=16,h=15,w=10,k=16,r=6,s=3,stride=2:1,pad=3:1:0:1,groups=16"));
    // No ph with oh given: the pad that centres the window, as benchdnn computes it.
    CHECK(parse_workload("mb1_g16ic16oc16_ih10oh10kh3_iw15ow8kw1sw2pw0") ==
          parse_workload("n=1,c=16,h=10,w=15,k=16,r=3,s=1,stride=1:2,pad=1:0:1:0,groups=16"));
    // 1-D: one row.
    CHECK(parse_workload("ic19oc32_iw13ow12kw3pw1_n\"tails_conv_1d:1\"") ==
          parse_workload("n=2,c=19,h=1,w=13,k=32,r=1,s=3,pad=0:1:0:0"));
    CHECK(parse_workload("mb1ic16oc16_ih10kh5_kh5ph7sh1").p() == 20);
    CHECK(parse_workload("g128mb1ic128ih56oh29oc128kh4sh2ph1").p() == 29);
  }
  REQUIRE_THROWS_MATCHES(parse_workload("mb1ic16oc16_ih10kh5_kh3"), convtune::UserError,
                         Catch::Matchers::Message("invalid workload spec: benchdnn part 'kh' given twice (5 and 3)"));
}
