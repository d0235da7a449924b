/// \file The Gaussian-process cost model: interpolation, variances, fitted length-scales, the LML, degenerate data.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>

#include "ir/error.h"
#include "tuner/gaussian_process.h"

using namespace convtune;

namespace {

/// n points evenly spaced on [lo, hi], as an n x 1 matrix.
Eigen::MatrixXd grid(int n, double lo, double hi) {
  Eigen::MatrixXd X(n, 1);
  for (int i = 0; i < n; ++i) X(i, 0) = lo + (hi - lo) * i / (n - 1);
  return X;
}

/// Uniform noise in [-amplitude, amplitude] from mt19937_64, whose output the standard fixes,
/// converted by hand (std:: distributions differ between standard libraries).
Eigen::VectorXd noise(int n, double amplitude, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Eigen::VectorXd e(n);
  for (int i = 0; i < n; ++i) e(i) = amplitude * (2.0 * static_cast<double>(rng() >> 11) * 0x1.0p-53 - 1.0);
  return e;
}

Eigen::VectorXd sin_of(const Eigen::MatrixXd& X, double period_scale) {
  return (X.col(0).array() / period_scale).sin().matrix();
}

/// A smooth 2-D test function on [0, 1]^2.
Eigen::VectorXd bumpy(const Eigen::MatrixXd& X) {
  Eigen::VectorXd y(X.rows());
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    y(i) = std::sin(4.0 * X(i, 0)) + 0.5 * std::cos(3.0 * X(i, 1)) + X(i, 0) * X(i, 1);
  return y;
}

/// n points in [0, 1]^d from mt19937_64.
Eigen::MatrixXd random_points(int n, int d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Eigen::MatrixXd X(n, d);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) X(i, j) = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return X;
}

GpHyper hyper(double signal_var, double length_scale, double noise_var, int d = 1) {
  GpHyper h;
  h.signal_var = signal_var;
  h.length_scales.assign(static_cast<size_t>(d), length_scale);
  h.noise_var = noise_var;
  return h;
}

} // namespace

TEST_CASE("gp posterior mean interpolates the training points", "[tuner][gp]") {
  const auto kind = GENERATE(KernelKind::Matern52, KernelKind::Rbf);
  const Eigen::MatrixXd X = grid(12, 0.0, 10.0);
  const Eigen::VectorXd y = sin_of(X, 1.0) * 3.0 + Eigen::VectorXd::Constant(12, 5.0);

  GaussianProcess fixed(kind);
  fixed.fit_fixed(X, y, hyper(1.0, 1.5, 1e-8));
  const Eigen::VectorXd mean_fixed = fixed.predict(X).first;
  for (int i = 0; i < 12; ++i) CHECK(mean_fixed(i) == Approx(y(i)).margin(1e-3));

  // fit() keeps the noise variance at least 1e-6 of y's variance (for conditioning), so it
  // interpolates to a fraction of y's spread rather than absolutely.
  GaussianProcess fitted(kind);
  fitted.fit(X, y, 1);
  const double y_std = std::sqrt((y.array() - y.mean()).square().mean());
  const Eigen::VectorXd mean_fitted = fitted.predict(X).first;
  for (int i = 0; i < 12; ++i) CHECK(mean_fitted(i) == Approx(y(i)).margin(1e-3 * y_std));
}

TEST_CASE("gp variance is small at observed points and grows to the prior far away", "[tuner][gp]") {
  const auto kind = GENERATE(KernelKind::Matern52, KernelKind::Rbf);
  const Eigen::MatrixXd X = grid(8, 0.0, 7.0);
  const Eigen::VectorXd y = sin_of(X, 1.0);
  GaussianProcess gp(kind);
  gp.fit_fixed(X, y, hyper(1.0, 1.0, 1e-6));
  // Variances come back in y units: the prior is signal_var times the variance of y.
  const double y_var = (y.array() - y.mean()).square().mean();
  const double prior = 1.0 * y_var;

  const auto [mean_at, var_at] = gp.predict(X);
  Eigen::MatrixXd between(7, 1), far(2, 1);
  for (int i = 0; i < 7; ++i) between(i, 0) = i + 0.5;
  far << -100.0, 100.0;
  const auto [mean_between, var_between] = gp.predict(between);
  const auto [mean_far, var_far] = gp.predict(far);

  for (int i = 0; i < 8; ++i) {
    CHECK(var_at(i) >= 0.0);
    CHECK(var_at(i) < 1e-4 * prior);
  }
  for (int i = 0; i < 7; ++i) {
    CHECK(var_between(i) > 10.0 * var_at.maxCoeff());
    CHECK(var_between(i) < prior);
  }
  for (int i = 0; i < 2; ++i) {
    CHECK(var_far(i) == Approx(prior).epsilon(1e-6));
    CHECK(mean_far(i) == Approx(y.mean()).margin(1e-9));  // far away the mean reverts to the prior mean
  }
}

TEST_CASE("gp fitted length-scale follows how fast the function varies", "[tuner][gp]") {
  const auto kind = GENERATE(KernelKind::Matern52, KernelKind::Rbf);
  // sin(x) and sin(x/5) on [0, 10] with the same small noise (without noise a Matérn kernel
  // prefers very long length-scales with a huge signal variance on such smooth data). The
  // sensible length-scales are about 1.5 and 7.5; the checks allow a factor 3 either way.
  // 40 points: with 30, sin(x/5) plus this noise has a second LML mode near l = 3 that
  // is only 0.5 nats worse, and which mode wins depends on the starts.
  const Eigen::MatrixXd X = grid(40, 0.0, 10.0);
  const Eigen::VectorXd e = noise(40, 0.1, 11);
  GaussianProcess fast(kind), slow(kind);
  fast.fit(X, sin_of(X, 1.0) + e, 5);
  slow.fit(X, sin_of(X, 5.0) + e, 5);
  const double l_fast = fast.hyper().length_scales.at(0);
  const double l_slow = slow.hyper().length_scales.at(0);
  INFO("l_fast " << l_fast << " l_slow " << l_slow);
  CHECK(l_fast > 0.5);
  CHECK(l_fast < 4.5);
  CHECK(l_slow > 2.5);
  CHECK(l_slow < 22.5);
  CHECK(l_slow > 2.0 * l_fast);
}

TEST_CASE("gp fitted length-scale scales with the inputs", "[tuner][gp]") {
  const auto kind = GENERATE(KernelKind::Matern52, KernelKind::Rbf);
  // sin(x) on [0, 10] and sin(x/5) on [0, 50] are the same data up to the unit of x; the
  // search box and starts follow each feature's range, so the fit must scale exactly.
  const Eigen::MatrixXd X = grid(20, 0.0, 10.0);
  const Eigen::VectorXd y = sin_of(X, 1.0);
  GaussianProcess a(kind), b(kind);
  a.fit(X, y, 3);
  b.fit(X * 5.0, y, 3);
  CHECK(b.hyper().length_scales.at(0) == Approx(5.0 * a.hyper().length_scales.at(0)).epsilon(1e-2));
  CHECK(b.hyper().signal_var == Approx(a.hyper().signal_var).epsilon(1e-2));
  CHECK(b.log_marginal_likelihood() == Approx(a.log_marginal_likelihood()).epsilon(1e-4));
}

TEST_CASE("gp fit raises the log marginal likelihood above poor fixed hyperparameters", "[tuner][gp]") {
  const auto kind = GENERATE(KernelKind::Matern52, KernelKind::Rbf);
  const Eigen::MatrixXd X = random_points(40, 2, 17);
  const Eigen::VectorXd y = bumpy(X) + noise(40, 0.05, 18);

  GaussianProcess gp(kind);
  gp.fit(X, y, 2);
  const double fitted = gp.log_marginal_likelihood();
  for (const GpHyper& poor : {hyper(1.0, 0.01, 1e-4, 2), hyper(1.0, 100.0, 1e-4, 2), hyper(1.0, 0.3, 0.9, 2),
                              hyper(0.01, 0.3, 1e-4, 2)}) {
    GaussianProcess fixed(kind);
    fixed.fit_fixed(X, y, poor);
    CHECK(fitted > fixed.log_marginal_likelihood() + 1.0);
  }
}

TEST_CASE("gp fit ends at a local maximum of the log marginal likelihood", "[tuner][gp]") {
  // A check on the analytic gradient as much as on the optimiser: nudging any interior
  // log-hyperparameter must not raise the LML by more than rounding.
  const auto kind = GENERATE(KernelKind::Matern52, KernelKind::Rbf);
  const Eigen::MatrixXd X = random_points(40, 2, 17);
  const Eigen::VectorXd y = bumpy(X) + noise(40, 0.05, 18);
  GaussianProcess gp(kind);
  gp.fit(X, y, 2);
  const GpHyper best = gp.hyper();
  const double lml = gp.log_marginal_likelihood();
  REQUIRE(best.noise_var > 2e-6);  // interior: the nudges below stay inside the search box
  for (int p = 0; p < 4; ++p) {
    for (double factor : {std::exp(0.02), std::exp(-0.02)}) {
      GpHyper h = best;
      if (p < 2) h.length_scales[static_cast<size_t>(p)] *= factor;
      if (p == 2) h.signal_var *= factor;
      if (p == 3) h.noise_var *= factor;
      GaussianProcess nudged(kind);
      nudged.fit_fixed(X, y, h);
      INFO("parameter " << p << " factor " << factor);
      CHECK(nudged.log_marginal_likelihood() < lml + 1e-3);
    }
  }
}

TEST_CASE("gp with matern and rbf kernels predicts held-out points", "[tuner][gp]") {
  const auto kind = GENERATE(KernelKind::Matern52, KernelKind::Rbf);
  const Eigen::MatrixXd X = random_points(60, 2, 21);
  const Eigen::MatrixXd Xs = random_points(50, 2, 22);
  const Eigen::VectorXd y = bumpy(X);
  const Eigen::VectorXd ys = bumpy(Xs);
  GaussianProcess gp(kind);
  gp.fit(X, y, 4);
  CHECK(gp.fitted());
  CHECK(gp.kind() == kind);
  CHECK(gp.num_points() == 60);
  REQUIRE(gp.hyper().length_scales.size() == 2);
  const auto [mean, var] = gp.predict(Xs);
  REQUIRE(mean.size() == 50);
  REQUIRE(var.size() == 50);
  const double rmse = std::sqrt((mean - ys).squaredNorm() / 50.0);
  const double y_std = std::sqrt((ys.array() - ys.mean()).square().mean());
  CHECK(rmse < 0.05 * y_std);
  CHECK((var.array() >= 0.0).all());
}

TEST_CASE("gp fit is deterministic given the seed", "[tuner][gp]") {
  const Eigen::MatrixXd X = random_points(50, 4, 31);
  Eigen::VectorXd y = bumpy(X) + noise(50, 0.1, 32);
  y += X.col(2) * 0.3;
  GaussianProcess a, b;
  a.fit(X, y, 99, 4);
  b.fit(X, y, 99, 4);
  CHECK(a.hyper().length_scales == b.hyper().length_scales);
  CHECK(a.hyper().signal_var == b.hyper().signal_var);
  CHECK(a.hyper().noise_var == b.hyper().noise_var);
  CHECK(a.log_marginal_likelihood() == b.log_marginal_likelihood());
  const auto [ma, va] = a.predict(X);
  const auto [mb, vb] = b.predict(X);
  CHECK(ma == mb);
  CHECK(va == vb);

  // Refitting the same object on the same data gives the same answer again (no hidden state).
  a.fit(X, y, 99, 4);
  CHECK(a.hyper().length_scales == b.hyper().length_scales);
}

TEST_CASE("gp fit_fixed with the fitted hyperparameters reproduces the fit", "[tuner][gp]") {
  const Eigen::MatrixXd X = random_points(30, 2, 41);
  const Eigen::VectorXd y = bumpy(X) * 10.0 + Eigen::VectorXd::Constant(30, -3.0);
  GaussianProcess a(KernelKind::Rbf), b(KernelKind::Rbf);
  a.fit(X, y, 8);
  b.fit_fixed(X, y, a.hyper());
  CHECK(b.log_marginal_likelihood() == Approx(a.log_marginal_likelihood()).epsilon(1e-12));
  const Eigen::MatrixXd Xs = random_points(10, 2, 42);
  CHECK(a.predict(Xs).first.isApprox(b.predict(Xs).first, 1e-12));
}

TEST_CASE("gp with no points predicts the prior", "[tuner][gp]") {
  GaussianProcess gp;
  CHECK_FALSE(gp.fitted());
  const Eigen::MatrixXd Xs = random_points(3, 2, 1);
  const auto [mean0, var0] = gp.predict(Xs);  // unfitted: the prior too
  CHECK(mean0.isZero());
  CHECK(var0.isApproxToConstant(1.0));

  gp.fit(Eigen::MatrixXd(0, 2), Eigen::VectorXd(0), 1);
  CHECK(gp.fitted());
  CHECK(gp.num_points() == 0);
  CHECK(gp.log_marginal_likelihood() == 0.0);
  const auto [mean, var] = gp.predict(Xs);
  CHECK(mean.isZero());
  CHECK(var.isApproxToConstant(gp.hyper().signal_var));

  GaussianProcess fixed;
  fixed.fit_fixed(Eigen::MatrixXd(0, 2), Eigen::VectorXd(0), hyper(2.5, 1.0, 1e-3, 2));
  CHECK(fixed.predict(Xs).second.isApproxToConstant(2.5));
}

TEST_CASE("gp with one point predicts it there and the prior far away", "[tuner][gp]") {
  Eigen::MatrixXd X(1, 2);
  X << 0.3, 0.7;
  const Eigen::VectorXd y = Eigen::VectorXd::Constant(1, 4.0);
  GaussianProcess gp;
  gp.fit(X, y, 1);
  REQUIRE(gp.hyper().length_scales.size() == 2);
  Eigen::MatrixXd Xs(2, 2);
  Xs << 0.3, 0.7, 1e6, 1e6;
  const auto [mean, var] = gp.predict(Xs);
  CHECK(mean(0) == Approx(4.0).margin(1e-9));
  CHECK(mean(1) == Approx(4.0).margin(1e-9));
  CHECK(var(0) < 0.05 * var(1));
  CHECK(var(1) == Approx(gp.hyper().signal_var));
  CHECK(std::isfinite(gp.log_marginal_likelihood()));
}

TEST_CASE("gp with a constant y predicts the constant", "[tuner][gp]") {
  const Eigen::MatrixXd X = random_points(10, 3, 5);
  const Eigen::VectorXd y = Eigen::VectorXd::Constant(10, -2.5);
  GaussianProcess gp;
  gp.fit(X, y, 1);
  const auto [mean, var] = gp.predict(random_points(5, 3, 6));
  for (int i = 0; i < 5; ++i) {
    CHECK(mean(i) == Approx(-2.5).margin(1e-9));
    CHECK(std::isfinite(var(i)));
    CHECK(var(i) >= 0.0);
  }
}

TEST_CASE("gp accepts duplicate rows", "[tuner][gp]") {
  const auto kind = GENERATE(KernelKind::Matern52, KernelKind::Rbf);
  // The same config measured three times with different results, among other points.
  Eigen::MatrixXd X(6, 1);
  X << 0.0, 1.0, 1.0, 1.0, 2.0, 3.0;
  Eigen::VectorXd y(6);
  y << 0.0, 0.9, 1.0, 1.1, 0.2, -0.5;

  GaussianProcess fitted(kind);
  fitted.fit(X, y, 3);
  const auto [mean, var] = fitted.predict(X);
  CHECK(mean.allFinite());
  CHECK(var.allFinite());
  CHECK(mean(1) == Approx(1.0).margin(0.1));  // near the average of the repeats

  // Zero noise makes the covariance singular; jitter must rescue the factorisation.
  Eigen::VectorXd y_same = y;
  y_same(2) = y_same(3) = y_same(1);
  GaussianProcess noiseless(kind);
  noiseless.fit_fixed(X, y_same, hyper(1.0, 1.0, 0.0));
  const auto [mean0, var0] = noiseless.predict(X);
  CHECK(mean0.allFinite());
  CHECK(std::isfinite(noiseless.log_marginal_likelihood()));
  for (int i = 0; i < 6; ++i) CHECK(mean0(i) == Approx(y_same(i)).margin(1e-3));
}

TEST_CASE("gp refuses mismatched shapes and non-finite data", "[tuner][gp]") {
  GaussianProcess gp;
  const Eigen::MatrixXd X = random_points(5, 2, 1);
  CHECK_THROWS_AS(gp.fit(X, Eigen::VectorXd::Zero(4), 1), InternalError);
  CHECK_THROWS_AS(gp.fit_fixed(X, Eigen::VectorXd::Zero(5), hyper(1.0, 1.0, 1e-3, 3)), InternalError);
  Eigen::VectorXd y = Eigen::VectorXd::Zero(5);
  y(2) = std::nan("");
  CHECK_THROWS_AS(gp.fit(X, y, 1), InternalError);
  gp.fit(X, Eigen::VectorXd::LinSpaced(5, 0.0, 1.0), 1);
  CHECK_THROWS_AS(gp.predict(random_points(2, 3, 2)), InternalError);
}
