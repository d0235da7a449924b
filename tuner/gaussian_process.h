/// \file A Gaussian-process regression model: the cost model behind the Bayesian-optimisation searcher.
///
/// The model is a zero-mean GP on standardised targets (y minus its mean, over its standard
/// deviation) with a stationary ARD kernel (Matérn 5/2 or squared exponential) plus Gaussian
/// noise. fit() picks the hyperparameters by maximising the log marginal likelihood (LML) with
/// a small projected L-BFGS over log-parameters, from a data-driven start and seeded random
/// starts; fit_fixed() takes them as given. Predictions come back in the units of y.
///
/// Everything is deterministic given the inputs and the seed: no global random state, no
/// threads, a fixed iteration budget. Cost: O(n^3) per optimiser iteration (a Cholesky and an
/// inverse of the n x n covariance); about 0.1-0.3 s for 200 points of 15 features.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <Eigen/Dense>

namespace convtune {

/// The covariance function: both are stationary, with one length-scale per feature.
enum class KernelKind { Matern52, Rbf };

/// GP hyperparameters. The variances are relative to the standardised targets (a signal_var of 1
/// means "as much variation as the observed y"); the length-scales are in the units of X's
/// columns.
struct GpHyper {
  double signal_var = 1.0;
  std::vector<double> length_scales;  ///< one per feature (ARD)
  double noise_var = 1e-4;
};

/// Gaussian-process regression with hyperparameters fitted by maximum marginal likelihood.
///
/// Degenerate data is accepted: with no points predict() returns the prior (mean 0, variance
/// signal_var); with one point, or a constant y, fit() keeps default hyperparameters (there is
/// nothing to learn them from) and a zero standard deviation of y is replaced by 1; duplicate
/// rows are fine (the noise term, and jitter if needed, keeps the covariance positive definite).
/// Mismatched shapes or non-finite inputs are caller bugs and throw InternalError.
class GaussianProcess {
public:
  explicit GaussianProcess(KernelKind kind = KernelKind::Matern52);

  /// Standardises y, then fits the hyperparameters by maximising the LML. `restarts` is the
  /// number of starting points in all (at least 1): the first is a default derived from the
  /// data's ranges, the others are drawn from `seed`. Each start runs at most ~100 L-BFGS
  /// iterations; the best optimum is kept. X is n x d (one row per observation), y has n entries.
  /// The search box: each length-scale within [0.01, 100] times its feature's range in X,
  /// signal_var within [0.01, 100], noise_var within [1e-6, 1] (relative to y's variance).
  void fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, uint64_t seed, int restarts = 3);

  /// Standardises y and conditions on the data with the given hyperparameters (no search).
  /// `h.length_scales` must have one entry per column of X.
  void fit_fixed(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const GpHyper& h);

  /// Posterior mean and variance of the latent function (without observation noise) at each
  /// row of Xs, in the units of y. Variances are clamped at 0.
  std::pair<Eigen::VectorXd, Eigen::VectorXd> predict(const Eigen::MatrixXd& Xs) const;

  /// LML of the standardised y under the current hyperparameters (what fit() maximises);
  /// 0 when there are no points.
  double log_marginal_likelihood() const;

  const GpHyper& hyper() const { return hyper_; }
  KernelKind kind() const { return kind_; }
  bool fitted() const { return fitted_; }
  /// Number of training points conditioned on.
  int num_points() const { return static_cast<int>(X_.rows()); }

private:
  /// Conditions on X_/z_ with hyper_: Cholesky (with escalating jitter), alpha, LML.
  void condition();
  /// Stores X and the standardised y; returns false when y does not vary (or is empty).
  bool set_data(const Eigen::MatrixXd& X, const Eigen::VectorXd& y);

  KernelKind kind_;
  GpHyper hyper_;
  bool fitted_ = false;
  Eigen::MatrixXd X_;    ///< training inputs, n x d
  Eigen::MatrixXd Zt_;   ///< training inputs over the length-scales, transposed (d x n)
  Eigen::VectorXd z_;    ///< standardised targets
  double y_mean_ = 0.0;
  double y_std_ = 1.0;
  Eigen::MatrixXd L_;    ///< lower Cholesky factor of K + noise I (+ jitter)
  Eigen::VectorXd alpha_;  ///< (K + noise I)^-1 z
  double lml_ = 0.0;
};

} // namespace convtune
