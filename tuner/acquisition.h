/// \file Acquisition functions for Bayesian optimisation, for MINIMISATION (lower values are better).
#pragma once

namespace convtune {

/// Expected improvement below `best` of a normal N(mean, var), improvement = best - value - xi:
///   EI = (best - mean - xi) * Phi(z) + sigma * phi(z),  z = (best - mean - xi) / sigma.
/// Higher is better. With var <= 0 the value is known, so EI = max(best - mean - xi, 0).
/// `xi` >= 0 asks for an improvement of at least xi (more exploration).
double expected_improvement(double mean, double var, double best, double xi = 0.0);

/// Lower confidence bound mean - kappa * sqrt(var) (the UCB of minimisation): lower is better;
/// a larger kappa favours uncertain points. A negative var counts as 0.
double lower_confidence_bound(double mean, double var, double kappa);

} // namespace convtune
