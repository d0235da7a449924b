/// \file Expected improvement and the lower confidence bound, in closed form.
#include "tuner/acquisition.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace convtune {

namespace {

double normal_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi); }

// erfc rather than 1 + erf keeps full relative precision deep in the lower tail, where EI of a
// poor candidate is tiny but still has to rank candidates.
double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

} // namespace

double expected_improvement(double mean, double var, double best, double xi) {
  const double improvement = best - mean - xi;
  if (!(var > 0)) return std::max(improvement, 0.0);
  const double sigma = std::sqrt(var);
  const double z = improvement / sigma;
  // The closed form can round a hair below zero far in the tail; EI is never negative.
  return std::max(improvement * normal_cdf(z) + sigma * normal_pdf(z), 0.0);
}

double lower_confidence_bound(double mean, double var, double kappa) {
  return mean - kappa * std::sqrt(std::max(var, 0.0));
}

} // namespace convtune
