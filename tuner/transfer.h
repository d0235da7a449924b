/// \file Learning from other layers' records on the same target: the history of a target slot,
/// the observations that warm a searcher's model (`tune --transfer`), and the zero-shot model
/// that predicts a good config for a layer with no records of its own (after Sun et al., ICCV
/// 2021: a model learnt from historical records, transferred to new tasks).
///
/// The zero-shot model is the tuner's Gaussian process (tuner/gaussian_process.h) over the
/// templates' features, which hold the layer's shape (channels, output size, kernel size,
/// stride, groups, batch) next to the config's tile. Why not a multi-task GP: its task
/// covariance is learnt from records of both tasks, so it says nothing of a layer with no
/// records; with the shape among the inputs, the kernel's length-scales learn which shape
/// differences matter, and a new layer is a point of the same space. The model's target is a
/// record's cost relative to its own layer's best, log(best GFLOP/s / its GFLOP/s): what
/// carries over between layers is which configs suit a shape, not how fast a shape runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/workload.h"
#include "schedules/template_choice.h"
#include "targets/target.h"
#include "tuner/database.h"
#include "tuner/gaussian_process.h"
#include "tuner/searcher.h"

namespace convtune {

/// One other layer's records on the target slot, of templates a choice searches.
struct LayerHistory {
  Workload workload;
  std::vector<const TrialRecord*> records;  ///< in database order; failures included
  double best_gflops = 0;                   ///< 0 when none succeeded
};

/// The records of layers other than `wl` on `target` with `threads`, of the templates of
/// `choice` at their current versions, grouped by layer in order of first appearance.
std::vector<LayerHistory> layer_history(const Database& db, const Workload& wl, const Target& target, int threads,
                                        const TemplateChoice& choice);

/// Successful records of `history` as observations for a searcher's model: features of their
/// own layer, laid out as `choice` lays them out; the most recent `limit`.
std::vector<Observation> transfer_observations(const std::vector<LayerHistory>& history, const Target& target, int threads,
                                               const TemplateChoice& choice, size_t limit);

/// A cost model of one layer's configs learnt from other layers' records alone.
class ZeroShotModel {
public:
  /// Layers with a successful record needed before the model is trusted over the hand default.
  static constexpr size_t kMinLayers = 2;

  /// Fitted on the history of the layers nearest to `choice`'s workload in shape (all of them
  /// while few); nullopt when fewer than kMinLayers layers have a success.
  static std::optional<ZeroShotModel> fit(const std::vector<LayerHistory>& history, const Workload& wl,
                                          const Target& target, int threads, const TemplateChoice& choice, uint64_t seed);

  /// The `n` points of the choice's space the model predicts fastest, best first. Candidates:
  /// the nearest layers' best configs fitted to this layer's knobs (a tile moved, within a factor
  /// of two, to a size that wastes less past this layer's edge; of any template from layers
  /// of the same kind, of the default template from the others) and the default config; each
  /// scored pessimistically (predicted mean plus one standard deviation).
  std::vector<Config> best_points(size_t n) const;

  size_t layers() const { return layers_; }   ///< layers it learnt from
  size_t points() const { return points_; }   ///< records it learnt from

private:
  ZeroShotModel(const TemplateChoice& choice, int threads) : choice_(&choice), threads_(threads) {}
  Eigen::MatrixXd scaled(const std::vector<Config>& points) const;

  const TemplateChoice* choice_;
  int threads_;
  GaussianProcess gp_;
  std::vector<double> lo_, hi_;       ///< each feature's range over the training points
  std::vector<Config> seeds_;         ///< the nearest layers' best configs, as points of the choice
  size_t layers_ = 0, points_ = 0;
};

/// The config a layer with no records of its own would run with, predicted from the history of
/// its target slot in `db`: its template, its schedule and how many layers taught it. nullopt
/// when the history is too thin (the hand default stays).
struct ZeroShotConfig {
  const ScheduleTemplate* tpl = nullptr;
  Config config;        ///< the template's own config
  Schedule schedule;
  size_t layers = 0;    ///< the layers the model learnt from
};
std::optional<ZeroShotConfig> zero_shot_config(const Database& db, const Workload& wl, const Target& target, int threads,
                                               uint64_t seed = 1);

} // namespace convtune
