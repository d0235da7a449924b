/// \file The reference convolution on hand-computed cases, and the fp32 agreement check.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "ir/error.h"
#include "runtime/reference_conv.h"

using namespace convtune;

namespace {

Tensor tensor_of(const std::vector<float>& values) {
  Tensor t(static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) t[static_cast<int64_t>(i)] = values[i];
  return t;
}

Tensor ones(int64_t elems) {
  Tensor t(elems);
  for (int64_t i = 0; i < elems; ++i) t[i] = 1;
  return t;
}

/// A single-channel h x w input holding 0, 1, 2, ... in row-major order.
Tensor iota(int64_t elems) {
  Tensor t(elems);
  for (int64_t i = 0; i < elems; ++i) t[i] = static_cast<float>(i);
  return t;
}

Workload single_channel(int64_t h, int64_t w, int64_t r, int64_t s) {
  Workload wl;
  wl.h = h;
  wl.w = w;
  wl.r = r;
  wl.s = s;
  return wl;
}

/// Rounds the reference to fp32, what a perfect kernel would produce.
Tensor rounded(const Reference& ref) {
  Tensor t(static_cast<int64_t>(ref.output.size()));
  for (size_t i = 0; i < ref.output.size(); ++i)
    t[static_cast<int64_t>(i)] = static_cast<float>(ref.output[i]);
  return t;
}

/// The same convolution accumulated in fp32, in c-r-s order.
Tensor float_conv(const Workload& wl, const Tensor& in, const Tensor& wt) {
  Tensor out(wl.output_elems());
  const int64_t P = wl.p(), Q = wl.q(), Cg = wl.c_per_group(), Kg = wl.k_per_group();
  int64_t o = 0;
  for (int64_t n = 0; n < wl.n; ++n)
    for (int64_t k = 0; k < wl.k; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q, ++o) {
          float acc = 0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < wl.r; ++r)
              for (int64_t s = 0; s < wl.s; ++s) {
                const int64_t ih = p * wl.stride_h - wl.pad_top + r * wl.dilation_h;
                const int64_t iw = q * wl.stride_w - wl.pad_left + s * wl.dilation_w;
                if (ih < 0 || ih >= wl.h || iw < 0 || iw >= wl.w) continue;
                const int64_t ci = (k / Kg) * Cg + c;
                acc += in[((n * wl.c + ci) * wl.h + ih) * wl.w + iw] *
                       wt[((k * Cg + c) * wl.r + r) * wl.s + s];
              }
          out[o] = acc;
        }
  return out;
}

} // namespace

TEST_CASE("a 1x1 convolution is a matrix product", "[runtime][reference]") {
  Workload wl = single_channel(2, 2, 1, 1);
  wl.c = 3;
  wl.k = 2;
  const Tensor in = tensor_of({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}); // C x (H*W)
  const Tensor wt = tensor_of({1, 0, -1, 2, 1, 0.5f});                  // K x C
  const Reference ref = reference_conv(wl, in, wt);
  // out = W (2x3) * in (3x4)
  const std::vector<double> expected = {-8, -8, -8, -8, 11.5, 15, 18.5, 22};
  CHECK(ref.output == expected);
  // magnitude of out[1][0] = |2*1| + |1*5| + |0.5*9|
  CHECK(ref.magnitude[4] == 11.5);
  CHECK(ref.magnitude[0] == 10);
}

TEST_CASE("3x3 with pad 1 over all ones counts the taps inside", "[runtime][reference]") {
  Workload wl = single_channel(3, 3, 3, 3);
  wl.pad_top = wl.pad_left = wl.pad_bottom = wl.pad_right = 1;
  REQUIRE(wl.p() == 3);
  REQUIRE(wl.q() == 3);
  const Reference ref = reference_conv(wl, ones(9), ones(9));
  const std::vector<double> expected = {4, 6, 4, 6, 9, 6, 4, 6, 4};
  CHECK(ref.output == expected);
  CHECK(ref.magnitude == expected);
}

TEST_CASE("stride 2 skips every other window", "[runtime][reference]") {
  Workload wl = single_channel(4, 4, 2, 2);
  wl.stride_h = wl.stride_w = 2;
  REQUIRE(wl.p() == 2);
  REQUIRE(wl.q() == 2);
  const Reference ref = reference_conv(wl, iota(16), ones(4));
  // Sums of the disjoint 2x2 blocks of 0..15.
  CHECK(ref.output == std::vector<double>{0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13,
                                          10 + 11 + 14 + 15});
}

TEST_CASE("dilation 2 spreads the taps", "[runtime][reference]") {
  Workload wl = single_channel(5, 5, 2, 2);
  wl.dilation_h = wl.dilation_w = 2;
  REQUIRE(wl.p() == 3);
  REQUIRE(wl.q() == 3);
  const Reference ref = reference_conv(wl, iota(25), ones(4));
  // in[i][j] = 5i + j; taps at (p, q), (p, q+2), (p+2, q), (p+2, q+2) sum to 20p + 4q + 24.
  for (int64_t p = 0; p < 3; ++p)
    for (int64_t q = 0; q < 3; ++q)
      CHECK(ref.output[static_cast<size_t>(p * 3 + q)] == static_cast<double>(20 * p + 4 * q + 24));
}

TEST_CASE("each group sees only its own channels", "[runtime][reference]") {
  Workload wl;
  wl.c = 4;
  wl.k = 4;
  wl.groups = 2;
  const Tensor in = tensor_of({1, 2, 3, 4});
  // K x C/groups: outputs 0, 1 read channels 0, 1; outputs 2, 3 read channels 2, 3.
  const Tensor wt = tensor_of({1, 10, 0, 1, 1, 10, 0, 1});
  REQUIRE(wt.size() == wl.weight_elems());
  const Reference ref = reference_conv(wl, in, wt);
  CHECK(ref.output == std::vector<double>{21, 2, 43, 4});
}

TEST_CASE("asymmetric padding shapes the output", "[runtime][reference]") {
  Workload wl = single_channel(2, 2, 2, 2);
  wl.pad_top = 1;
  wl.pad_left = 2;
  REQUIRE(wl.p() == 2);
  REQUIRE(wl.q() == 3);
  const Reference ref = reference_conv(wl, tensor_of({1, 2, 3, 4}), ones(4));
  // Window (p, q) covers rows p-1..p and columns q-2..q-1 of [[1, 2], [3, 4]].
  CHECK(ref.output == std::vector<double>{0, 1, 3, 0, 4, 10});
  CHECK(ref.magnitude[0] == 0);
  CHECK(ref.magnitude[3] == 0);

  // The same padding on the other sides: window (p, q) covers rows p..p+1, columns q..q+1.
  wl.pad_top = 0;
  wl.pad_left = 0;
  wl.pad_bottom = 1;
  wl.pad_right = 2;
  REQUIRE(wl.p() == 2);
  REQUIRE(wl.q() == 3);
  const Reference mirrored = reference_conv(wl, tensor_of({1, 2, 3, 4}), ones(4));
  CHECK(mirrored.output == std::vector<double>{10, 6, 0, 7, 4, 0});
}

TEST_CASE("reference_conv refuses tensors of the wrong size", "[runtime][reference]") {
  Workload wl = single_channel(3, 3, 3, 3);
  CHECK_THROWS_AS(reference_conv(wl, ones(8), ones(9)), InternalError);
  CHECK_THROWS_AS(reference_conv(wl, ones(9), ones(10)), InternalError);
}

TEST_CASE("check_against_reference", "[runtime][reference]") {
  Workload wl;
  wl.n = 2;
  wl.c = 6;
  wl.h = 7;
  wl.w = 9;
  wl.k = 4;
  wl.r = 3;
  wl.s = 2;
  wl.stride_h = 2;
  wl.pad_top = 1;
  wl.pad_left = 1;
  wl.pad_right = 2;
  wl.groups = 2;
  Tensor in(wl.input_elems()), wt(wl.weight_elems());
  in.fill_random(1);
  wt.fill_random(2);
  const Reference ref = reference_conv(wl, in, wt);

  SECTION("the reference rounded to fp32 passes") {
    const Agreement a = check_against_reference(wl, ref, rounded(ref));
    CHECK(a.ok);
    CHECK(a.tolerance > 0);
    CHECK(a.max_rel_err <= a.tolerance);
  }
  SECTION("an fp32 accumulation passes") {
    const Agreement a = check_against_reference(wl, ref, float_conv(wl, in, wt));
    CHECK(a.ok);
    CHECK(a.max_abs_err > 0); // the fp32 sum really did round
  }
  SECTION("one element off by 1e-3 fails") {
    Tensor out = rounded(ref);
    out[17] += 1e-3f;
    const Agreement a = check_against_reference(wl, ref, out);
    CHECK_FALSE(a.ok);
    CHECK(a.max_abs_err == Approx(1e-3).epsilon(1e-2));
  }
  SECTION("a NaN fails") {
    Tensor out = rounded(ref);
    out[5] = std::numeric_limits<float>::quiet_NaN();
    CHECK_FALSE(check_against_reference(wl, ref, out).ok);
  }
  SECTION("an infinity fails") {
    Tensor out = rounded(ref);
    out[0] = std::numeric_limits<float>::infinity();
    CHECK_FALSE(check_against_reference(wl, ref, out).ok);
  }
  SECTION("an output of the wrong size is an internal error") {
    CHECK_THROWS_AS(check_against_reference(wl, ref, Tensor(wl.output_elems() + 1)), InternalError);
  }
}

TEST_CASE("a long fp32 reduction stays within the bound", "[runtime][reference]") {
  Workload wl;
  wl.c = 64;
  wl.h = wl.w = 6;
  wl.k = 3;
  wl.r = wl.s = 3;
  wl.pad_top = wl.pad_left = wl.pad_bottom = wl.pad_right = 1;
  Tensor in(wl.input_elems()), wt(wl.weight_elems());
  in.fill_random(11);
  wt.fill_random(12);
  const Reference ref = reference_conv(wl, in, wt);
  const Agreement a = check_against_reference(wl, ref, float_conv(wl, in, wt));
  CHECK(a.ok);
  CHECK(a.tolerance == Approx(577 * 0x1p-24 / (1 - 577 * 0x1p-24)));
}
