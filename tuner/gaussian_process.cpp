/// \file Gaussian-process regression: kernels, the LML and its gradient, the hyperparameter search.
#include "tuner/gaussian_process.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "ir/error.h"

namespace convtune {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kSqrt5 = 2.23606797749978969641;

// Search box and starting points, in log space. Length-scales are relative to each feature's
// range so the search is invariant to rescaling a feature; variances are relative to the
// standardised y, whose variance is 1.
constexpr double kMinLengthPerRange = 1e-2;
constexpr double kMaxLengthPerRange = 1e2;
constexpr double kMinSignalVar = 1e-2;
constexpr double kMaxSignalVar = 1e2;
constexpr double kMinNoiseVar = 1e-6;
constexpr double kMaxNoiseVar = 1.0;
constexpr double kDefaultLengthPerRange = 0.5;
constexpr double kDefaultSignalVar = 1.0;
constexpr double kDefaultNoiseVar = 1e-2;
constexpr int kMaxIterationsPerStart = 100;

/// SplitMix64: a tiny, portable generator, so a seed means the same starts on every platform
/// (std:: distributions are implementation-defined).
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) {
    const double u = static_cast<double>(next() >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * u;
  }

private:
  uint64_t state_;
};

/// k(r) for squared scaled distance r2 = sum_j (dx_j / l_j)^2, with signal variance s.
double kernel_value(KernelKind kind, double s, double r2) {
  if (kind == KernelKind::Rbf) return s * std::exp(-0.5 * r2);
  const double r = std::sqrt(r2);
  return s * (1.0 + kSqrt5 * r + (5.0 / 3.0) * r2) * std::exp(-kSqrt5 * r);
}

/// f(r) such that dk / d(log l_j) = f(r) * (dx_j / l_j)^2. For Matérn 5/2 the 1/r of dr/dl
/// cancels against dk/dr, so this stays finite at r = 0.
double kernel_length_factor(KernelKind kind, double s, double r2) {
  if (kind == KernelKind::Rbf) return s * std::exp(-0.5 * r2);
  const double r = std::sqrt(r2);
  return s * (5.0 / 3.0) * (1.0 + kSqrt5 * r) * std::exp(-kSqrt5 * r);
}

/// Inputs divided by the length-scales, transposed (d x n) so each point's features are
/// contiguous for the pairwise loops.
Eigen::MatrixXd scaled_transposed(const Eigen::MatrixXd& X, const std::vector<double>& length_scales) {
  Eigen::MatrixXd Zt = X.transpose();
  for (Eigen::Index j = 0; j < Zt.rows(); ++j) Zt.row(j) /= length_scales[static_cast<size_t>(j)];
  return Zt;
}

/// Cross-covariance between the columns of At (d x n) and Bt (d x m), both already scaled.
Eigen::MatrixXd cross_kernel(KernelKind kind, double s, const Eigen::MatrixXd& At, const Eigen::MatrixXd& Bt) {
  Eigen::MatrixXd K(At.cols(), Bt.cols());
  for (Eigen::Index b = 0; b < Bt.cols(); ++b)
    for (Eigen::Index a = 0; a < At.cols(); ++a)
      K(a, b) = kernel_value(kind, s, (At.col(a) - Bt.col(b)).squaredNorm());
  return K;
}

/// Negative LML of standardised targets z as a function of the log-hyperparameters
/// theta = [log l_1 .. log l_d, log signal_var, log noise_var], with its analytic gradient:
/// dLML/dtheta_i = 0.5 tr((alpha alpha^T - K^-1) dK/dtheta_i).
///
/// value() factorises and caches; gradient() reuses that factorisation. The gradient needs
/// K^-1 (about six times the Cholesky's cost), so the line search pays for it only at the
/// points it accepts.
class NegLogLikelihood {
public:
  NegLogLikelihood(KernelKind kind, const Eigen::MatrixXd& X, const Eigen::VectorXd& z)
      : kind_(kind), Xt_(X.transpose()), z_(z) {}

  /// +inf when the covariance is not positive definite, so the line search simply backs off.
  double value(const Eigen::VectorXd& theta) {
    const Eigen::Index n = Xt_.cols();
    const Eigen::Index d = Xt_.rows();
    const double s = std::exp(theta(d));
    noise_ = std::exp(theta(d + 1));
    Zt_ = Xt_;
    for (Eigen::Index j = 0; j < d; ++j) Zt_.row(j) *= std::exp(-theta(j));

    // Kf: the signal part of the covariance; G (upper triangle): the length-scale factor.
    Kf_.resize(n, n);
    G_.resize(n, n);
    for (Eigen::Index b = 0; b < n; ++b) {
      Kf_(b, b) = s;
      for (Eigen::Index a = 0; a < b; ++a) {
        const double r2 = (Zt_.col(a) - Zt_.col(b)).squaredNorm();
        Kf_(a, b) = Kf_(b, a) = kernel_value(kind_, s, r2);
        G_(a, b) = kernel_length_factor(kind_, s, r2);
      }
    }
    Eigen::MatrixXd K = Kf_;
    K.diagonal().array() += noise_;
    llt_.compute(K);
    if (llt_.info() != Eigen::Success) return kInf;
    alpha_ = llt_.solve(z_);
    const double lml = -0.5 * z_.dot(alpha_) - llt_.matrixLLT().diagonal().array().log().sum() -
                       0.5 * static_cast<double>(n) * std::log(2.0 * std::numbers::pi);
    return std::isfinite(lml) ? -lml : kInf;
  }

  /// Gradient of value() at the theta of the last call (which must have been finite).
  Eigen::VectorXd gradient() const {
    const Eigen::Index n = Xt_.cols();
    const Eigen::Index d = Xt_.rows();
    Eigen::MatrixXd W = llt_.solve(Eigen::MatrixXd::Identity(n, n));
    W = alpha_ * alpha_.transpose() - W;

    Eigen::VectorXd grad = Eigen::VectorXd::Zero(d + 2);
    for (Eigen::Index b = 0; b < n; ++b) {
      for (Eigen::Index a = 0; a < b; ++a) {
        // Both (a, b) and (b, a) contribute, cancelling the 0.5.
        const double w = W(a, b) * G_(a, b);
        grad.head(d) += w * (Zt_.col(a) - Zt_.col(b)).cwiseAbs2();
      }
    }
    grad(d) = 0.5 * (W.array() * Kf_.array()).sum();
    grad(d + 1) = 0.5 * noise_ * W.trace();
    return -grad;
  }

private:
  KernelKind kind_;
  Eigen::MatrixXd Xt_;
  Eigen::VectorXd z_;
  // The last value() call's intermediates.
  double noise_ = 0.0;
  Eigen::MatrixXd Zt_, Kf_, G_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  Eigen::VectorXd alpha_;
};

/// Projected L-BFGS on the box [lo, hi] with Armijo backtracking: minimises f from x, in place.
/// Returns the final value (+inf if even the start could not be evaluated).
template <class F>
double minimise_in_box(F& f, Eigen::VectorXd& x, const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                       int max_iterations) {
  constexpr size_t kMemory = 8;
  constexpr double kArmijo = 1e-4;
  // A variable this close to a bound (in log space) with the gradient pushing out counts as
  // pinned there; otherwise it creeps towards the bound in ever smaller steps.
  constexpr double kBoundSlack = 1e-3;
  x = x.cwiseMax(lo).cwiseMin(hi);
  double fx = f.value(x);
  if (!std::isfinite(fx)) return fx;
  Eigen::VectorXd g = f.gradient();

  std::vector<Eigen::VectorXd> S, Y;  // oldest first
  std::vector<double> rho;
  auto forget = [&] {
    S.clear();
    Y.clear();
    rho.clear();
  };
  const Eigen::Index m = x.size();
  for (int it = 0; it < max_iterations; ++it) {
    Eigen::VectorXd pg = g;
    for (Eigen::Index i = 0; i < m; ++i)
      if ((x(i) <= lo(i) + kBoundSlack && g(i) > 0) || (x(i) >= hi(i) - kBoundSlack && g(i) < 0)) pg(i) = 0;
    if (pg.lpNorm<Eigen::Infinity>() < 1e-5 * (1.0 + std::abs(fx))) break;

    // Two-loop recursion: dir = -H pg.
    Eigen::VectorXd q = pg;
    std::vector<double> a(S.size());
    for (size_t k = S.size(); k-- > 0;) {
      a[k] = rho[k] * S[k].dot(q);
      q -= a[k] * Y[k];
    }
    if (!S.empty()) q *= S.back().dot(Y.back()) / Y.back().squaredNorm();
    for (size_t k = 0; k < S.size(); ++k) q += (a[k] - rho[k] * Y[k].dot(q)) * S[k];
    Eigen::VectorXd dir = -q;
    for (Eigen::Index i = 0; i < m; ++i)
      if (pg(i) == 0 && g(i) != 0) dir(i) = 0;
    if (!(pg.dot(dir) < 0)) {
      forget();
      dir = -pg;
    }
    // Without curvature information the gradient's scale means nothing: move at most 1 in log
    // space; with it, still cap a step at 2 (a factor e^2) so one step cannot leap the box.
    const double cap = S.empty() ? 1.0 : 2.0;
    double step = std::min(1.0, cap / dir.lpNorm<Eigen::Infinity>());

    bool accepted = false;
    Eigen::VectorXd x_new;
    double f_new = kInf;
    for (int ls = 0; ls < 20; ++ls) {
      x_new = (x + step * dir).cwiseMax(lo).cwiseMin(hi);
      f_new = f.value(x_new);
      if (std::isfinite(f_new) && f_new <= fx + kArmijo * g.dot(x_new - x)) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) {
      if (S.empty()) break;  // even steepest descent makes no progress: converged or stuck
      forget();
      continue;
    }
    Eigen::VectorXd g_new = f.gradient();
    Eigen::VectorXd s = x_new - x;
    Eigen::VectorXd y = g_new - g;
    const double sy = s.dot(y);
    if (sy > 1e-10 * s.norm() * y.norm()) {
      if (S.size() == kMemory) {
        S.erase(S.begin());
        Y.erase(Y.begin());
        rho.erase(rho.begin());
      }
      S.push_back(std::move(s));
      Y.push_back(std::move(y));
      rho.push_back(1.0 / sy);
    }
    const double decrease = fx - f_new;
    x = std::move(x_new);
    g = std::move(g_new);
    fx = f_new;
    if (decrease < 1e-9 * (1.0 + std::abs(fx))) break;
  }
  return fx;
}

void check_finite(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
  internal_check(X.rows() == y.size(), "GaussianProcess: X has " + std::to_string(X.rows()) + " rows but y has " +
                                           std::to_string(y.size()) + " entries");
  internal_check(X.allFinite() && y.allFinite(), "GaussianProcess: non-finite training data");
}

} // namespace

GaussianProcess::GaussianProcess(KernelKind kind) : kind_(kind) {}

bool GaussianProcess::set_data(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
  check_finite(X, y);
  X_ = X;
  const Eigen::Index n = y.size();
  y_mean_ = n > 0 ? y.mean() : 0.0;
  y_std_ = n > 0 ? std::sqrt((y.array() - y_mean_).square().mean()) : 0.0;
  // A constant y (or a single point) has no scale to standardise by.
  const bool varies = y_std_ > 1e-12 * std::max(1.0, std::abs(y_mean_));
  if (!varies) y_std_ = 1.0;
  z_ = (y.array() - y_mean_) / y_std_;
  return varies;
}

void GaussianProcess::fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, uint64_t seed, int restarts) {
  const bool y_varies = set_data(X, y);
  const Eigen::Index n = X_.rows();
  const Eigen::Index d = X_.cols();

  // Each feature's range sets the scale of its length-scale; a constant feature gets 1.
  std::vector<double> range(static_cast<size_t>(d), 1.0);
  for (Eigen::Index j = 0; j < d && n > 0; ++j) {
    const double r = X_.col(j).maxCoeff() - X_.col(j).minCoeff();
    if (r > 0) range[static_cast<size_t>(j)] = r;
  }
  hyper_.signal_var = kDefaultSignalVar;
  hyper_.noise_var = kDefaultNoiseVar;
  hyper_.length_scales.resize(static_cast<size_t>(d));
  for (Eigen::Index j = 0; j < d; ++j)
    hyper_.length_scales[static_cast<size_t>(j)] = kDefaultLengthPerRange * range[static_cast<size_t>(j)];

  // Nothing to learn hyperparameters from: fewer than two points, or no variation in y.
  if (n < 2 || !y_varies) {
    condition();
    return;
  }

  Eigen::VectorXd lo(d + 2), hi(d + 2), start(d + 2);
  for (Eigen::Index j = 0; j < d; ++j) {
    const double log_range = std::log(range[static_cast<size_t>(j)]);
    lo(j) = log_range + std::log(kMinLengthPerRange);
    hi(j) = log_range + std::log(kMaxLengthPerRange);
    start(j) = log_range + std::log(kDefaultLengthPerRange);
  }
  lo(d) = std::log(kMinSignalVar);
  hi(d) = std::log(kMaxSignalVar);
  start(d) = std::log(kDefaultSignalVar);
  lo(d + 1) = std::log(kMinNoiseVar);
  hi(d + 1) = std::log(kMaxNoiseVar);
  start(d + 1) = std::log(kDefaultNoiseVar);

  NegLogLikelihood objective(kind_, X_, z_);
  SplitMix64 rng(seed);
  Eigen::VectorXd best = start;
  double best_value = kInf;
  for (int r = 0; r < std::max(1, restarts); ++r) {
    Eigen::VectorXd theta = start;
    if (r > 0) {
      for (Eigen::Index j = 0; j < d; ++j)
        theta(j) = std::log(range[static_cast<size_t>(j)]) + rng.uniform(std::log(0.05), std::log(2.0));
      theta(d) = rng.uniform(std::log(0.2), std::log(5.0));
      theta(d + 1) = rng.uniform(std::log(1e-5), std::log(1e-1));
    }
    const double value = minimise_in_box(objective, theta, lo, hi, kMaxIterationsPerStart);
    // Strictly better only, so ties keep the earlier start (deterministic).
    if (value < best_value) {
      best_value = value;
      best = theta;
    }
  }

  for (Eigen::Index j = 0; j < d; ++j) hyper_.length_scales[static_cast<size_t>(j)] = std::exp(best(j));
  hyper_.signal_var = std::exp(best(d));
  hyper_.noise_var = std::exp(best(d + 1));
  condition();
}

void GaussianProcess::fit_fixed(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const GpHyper& h) {
  internal_check(h.length_scales.size() == static_cast<size_t>(X.cols()),
                 "GaussianProcess: " + std::to_string(h.length_scales.size()) + " length-scales for " +
                     std::to_string(X.cols()) + " features");
  for (double l : h.length_scales) internal_check(l > 0 && std::isfinite(l), "GaussianProcess: length-scale <= 0");
  internal_check(h.signal_var > 0 && h.noise_var >= 0, "GaussianProcess: signal_var <= 0 or noise_var < 0");
  set_data(X, y);
  hyper_ = h;
  condition();
}

void GaussianProcess::condition() {
  fitted_ = true;
  const Eigen::Index n = X_.rows();
  if (n == 0) {
    Zt_.resize(X_.cols(), 0);
    L_.resize(0, 0);
    alpha_.resize(0);
    lml_ = 0.0;
    return;
  }
  Zt_ = scaled_transposed(X_, hyper_.length_scales);
  const Eigen::MatrixXd Kf = cross_kernel(kind_, hyper_.signal_var, Zt_, Zt_);
  // Escalating jitter only when the factorisation fails (e.g. duplicate rows with zero noise).
  double jitter = 0.0;
  for (int attempt = 0;; ++attempt) {
    Eigen::MatrixXd K = Kf;
    K.diagonal().array() += hyper_.noise_var + jitter;
    Eigen::LLT<Eigen::MatrixXd> llt(K);
    if (llt.info() == Eigen::Success && llt.matrixLLT().diagonal().allFinite()) {
      L_ = llt.matrixL();
      break;
    }
    internal_check(attempt < 12, "GaussianProcess: covariance not positive definite even with jitter");
    jitter = jitter == 0.0 ? 1e-10 * (hyper_.signal_var + hyper_.noise_var) : jitter * 10.0;
  }
  alpha_ = L_.triangularView<Eigen::Lower>().solve(z_);
  L_.triangularView<Eigen::Lower>().transpose().solveInPlace(alpha_);
  lml_ = -0.5 * z_.dot(alpha_) - L_.diagonal().array().log().sum() -
         0.5 * static_cast<double>(n) * std::log(2.0 * std::numbers::pi);
}

std::pair<Eigen::VectorXd, Eigen::VectorXd> GaussianProcess::predict(const Eigen::MatrixXd& Xs) const {
  const Eigen::Index m = Xs.rows();
  const double prior_var = hyper_.signal_var * y_std_ * y_std_;
  if (X_.rows() == 0)
    return {Eigen::VectorXd::Constant(m, y_mean_), Eigen::VectorXd::Constant(m, prior_var)};
  internal_check(Xs.cols() == X_.cols(), "GaussianProcess: predicting on " + std::to_string(Xs.cols()) +
                                             " features, trained on " + std::to_string(X_.cols()));

  const Eigen::MatrixXd Kstar =
      cross_kernel(kind_, hyper_.signal_var, Zt_, scaled_transposed(Xs, hyper_.length_scales));
  Eigen::VectorXd mean = Kstar.transpose() * alpha_;
  const Eigen::MatrixXd V = L_.triangularView<Eigen::Lower>().solve(Kstar);
  Eigen::VectorXd var = (hyper_.signal_var - V.colwise().squaredNorm().transpose().array()).cwiseMax(0.0);
  mean = (mean.array() * y_std_ + y_mean_).matrix();
  var *= y_std_ * y_std_;
  return {mean, var};
}

double GaussianProcess::log_marginal_likelihood() const { return lml_; }

} // namespace convtune
