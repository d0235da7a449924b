/// \file Acquisition functions against values worked out by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "tuner/acquisition.h"

using namespace convtune;

// Expected improvement for minimisation, with I = best - mean - xi, sigma = sqrt(var), z = I / sigma:
//   EI = I * Phi(z) + sigma * phi(z).
// Table values used below (11 digits): phi(0) = 0.39894228040, phi(0.5) = 0.35206532676,
// phi(1) = 0.24197072452, Phi(0.5) = 0.69146246127, Phi(-0.5) = 0.30853753873,
// Phi(-1) = 0.15865525393.
//
// mean 1, var 1, best 0:     I = -1, sigma 1, z = -1
//   EI = -1 * Phi(-1) + 1 * phi(-1) = -0.15865525393 + 0.24197072452 = 0.08331547059
// mean 0, var 1, best 0:     I = 0, z = 0
//   EI = 0 + phi(0) = 0.39894228040
// mean 0, var 4, best 1:     I = 1, sigma 2, z = 0.5
//   EI = 1 * Phi(0.5) + 2 * phi(0.5) = 0.69146246127 + 0.70413065353 = 1.39559311480
// mean 0, var 1, best 1, xi 0.5:  I = 0.5, z = 0.5
//   EI = 0.5 * Phi(0.5) + phi(0.5) = 0.34573123064 + 0.35206532676 = 0.69779655740
// mean 3, var 4, best 2:     I = -1, sigma 2, z = -0.5
//   EI = -1 * Phi(-0.5) + 2 * phi(-0.5) = -0.30853753873 + 0.70413065353 = 0.39559311480

TEST_CASE("expected improvement matches hand-computed values", "[tuner][acquisition]") {
  CHECK(expected_improvement(1.0, 1.0, 0.0) == Approx(0.08331547059).epsilon(1e-8));
  CHECK(expected_improvement(0.0, 1.0, 0.0) == Approx(0.39894228040).epsilon(1e-8));
  CHECK(expected_improvement(0.0, 4.0, 1.0) == Approx(1.39559311480).epsilon(1e-8));
  CHECK(expected_improvement(0.0, 1.0, 1.0, 0.5) == Approx(0.69779655740).epsilon(1e-8));
  CHECK(expected_improvement(3.0, 4.0, 2.0) == Approx(0.39559311480).epsilon(1e-8));
}

TEST_CASE("expected improvement with zero variance is the plain improvement", "[tuner][acquisition]") {
  CHECK(expected_improvement(2.0, 0.0, 1.0) == 0.0);   // above the best: nothing to gain
  CHECK(expected_improvement(1.0, 0.0, 1.0) == 0.0);   // at the best
  CHECK(expected_improvement(0.25, 0.0, 1.0) == Approx(0.75));
  CHECK(expected_improvement(0.25, 0.0, 1.0, 0.5) == Approx(0.25));
  CHECK(expected_improvement(0.25, -1e-12, 1.0) == Approx(0.75));  // rounding below zero
  CHECK(expected_improvement(2.0, -1.0, 1.0) == 0.0);
}

TEST_CASE("expected improvement is positive and ordered sensibly", "[tuner][acquisition]") {
  // Lower mean at equal variance is better (we minimise); more variance at equal mean is better.
  CHECK(expected_improvement(0.5, 1.0, 1.0) > expected_improvement(1.5, 1.0, 1.0));
  CHECK(expected_improvement(1.5, 4.0, 1.0) > expected_improvement(1.5, 1.0, 1.0));
  // Far in the tail it is tiny but never negative.
  CHECK(expected_improvement(20.0, 1.0, 0.0) >= 0.0);
  CHECK(expected_improvement(9.0, 1.0, 0.0) > 0.0);
  CHECK(expected_improvement(9.0, 1.0, 0.0) < 1e-18);
  // Far below the best it approaches the improvement itself.
  CHECK(expected_improvement(-10.0, 1.0, 0.0) == Approx(10.0).epsilon(1e-12));
  // A larger xi never increases EI.
  CHECK(expected_improvement(0.0, 1.0, 0.0, 0.1) < expected_improvement(0.0, 1.0, 0.0));
}

TEST_CASE("lower confidence bound is mean minus kappa sigma", "[tuner][acquisition]") {
  CHECK(lower_confidence_bound(1.0, 4.0, 2.0) == Approx(-3.0));
  CHECK(lower_confidence_bound(1.0, 0.25, 1.0) == Approx(0.5));
  CHECK(lower_confidence_bound(-2.0, 9.0, 0.0) == Approx(-2.0));
  CHECK(lower_confidence_bound(1.0, 0.0, 3.0) == Approx(1.0));
  CHECK(lower_confidence_bound(1.0, -1e-12, 3.0) == Approx(1.0));  // negative var counts as 0
  // More uncertainty gives a lower (more promising) bound.
  CHECK(lower_confidence_bound(0.0, 4.0, 1.0) < lower_confidence_bound(0.0, 1.0, 1.0));
}
