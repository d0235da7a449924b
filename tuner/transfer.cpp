/// \file Other layers' history, transfer observations and the zero-shot model.
#include "tuner/transfer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "tuner/candidate_pool.h"

namespace convtune {

namespace {

/// Training points the zero-shot model keeps: its fit costs the cube of their number.
constexpr size_t kMaxPoints = 240;
/// Per layer: its best records (what good looks like) and an even spread of the rest.
constexpr size_t kBestPerLayer = 8, kSpreadPerLayer = 6;
/// Per layer: how many of its best configs are candidates for the new layer.
constexpr size_t kSeedsPerLayer = 3;

/// A layer's shape as the distance between layers sees it: log scales, so that 64 and 128
/// channels are as far apart as 256 and 512.
std::vector<double> shape_of(const Workload& wl) {
  const auto lg = [](double v) { return std::log2(std::max(v, 1.0)); };
  return {lg(double(wl.c_per_group())), lg(double(wl.k_per_group())), lg(double(wl.p() * wl.q())), lg(double(wl.r * wl.s)),
          lg(double(wl.stride_h * wl.stride_w)), lg(double(wl.groups)), lg(double(wl.n)), lg(double(wl.dilation_h * wl.dilation_w))};
}

/// Whether two layers are of one kind for the purpose of borrowing configs: the same window
/// (kernel, stride, dilated or not) and the same grouping (dense, grouped or depthwise). An
/// algorithm's speed changes by an order of magnitude across kinds (im2col on a depthwise
/// layer, Winograd on a grouped one), which features of a few layers cannot teach the model.
bool same_kind(const Workload& a, const Workload& b) {
  auto grouping = [](const Workload& w) { return w.groups == 1 ? 0 : w.c_per_group() == 1 ? 2 : 1; };
  return a.r == b.r && a.s == b.s && a.stride_h == b.stride_h && a.stride_w == b.stride_w &&
         (a.dilation_h * a.dilation_w > 1) == (b.dilation_h * b.dilation_w > 1) && grouping(a) == grouping(b);
}

double shape_distance(const Workload& a, const Workload& b) {
  const std::vector<double> x = shape_of(a), y = shape_of(b);
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) d += (x[i] - y[i]) * (x[i] - y[i]);
  return d;
}

/// The template of `choice` a record was measured with; nullptr if none.
const ScheduleTemplate* template_of(const TemplateChoice& choice, const TrialRecord& r) {
  return choice.find(r.template_name, r.template_version);
}

/// The value of `k` nearest to `want`; for a knob that tiles an extent, the value within a
/// factor of two of it that wastes least past the edge, where that wastes at least a tenth
/// less (a row of 14 columns fitted to 15 outputs computes 28: 15 computes them in one tile).
int64_t fitted_value(const Knob& k, int64_t want) {
  int64_t nearest = k.values.front();
  for (int64_t v : k.values) {
    if (std::llabs(v - want) < std::llabs(nearest - want)) nearest = v;
  }
  if (k.extent <= 0 || want <= 0) return nearest;
  int64_t snapped = nearest;
  for (int64_t v : k.values) {
    if (v > 0 && v <= 2 * want && 2 * v >= want && k.utilisation(v) > k.utilisation(snapped)) snapped = v;
  }
  return k.utilisation(snapped) >= 1.1 * k.utilisation(nearest) ? snapped : nearest;
}

/// `config` of template `tpl` fitted to `space` (that template's space for another layer):
/// each knob's value fitted_value of the config's (the knob's default when the config lacks it).
Config fitted_to(const KnobSpace& space, const Config& config, const Config& defaults) {
  Config out;
  for (const Knob& k : space.knobs) {
    const auto it = config.find(k.name);
    out[k.name] = fitted_value(k, it != config.end() ? it->second : defaults.at(k.name));
  }
  return out;
}

} // namespace

std::vector<LayerHistory> layer_history(const Database& db, const Workload& wl, const Target& target, int threads,
                                        const TemplateChoice& choice) {
  const std::string slot = target_slot(target.key(), threads);
  const std::string own_key = wl.key();
  std::vector<LayerHistory> out;
  std::map<std::string, size_t> index;
  for (const TrialRecord& r : db.records()) {
    if (r.workload_key == own_key || r.target_slot() != slot || !template_of(choice, r)) continue;
    auto [it, fresh] = index.try_emplace(r.workload_key, out.size());
    if (fresh) {
      LayerHistory h;
      try {
        h.workload = r.workload.get<Workload>();
      } catch (const std::exception&) {
        index.erase(it);  // a record from an older format teaches nothing
        continue;
      }
      out.push_back(std::move(h));
    }
    LayerHistory& h = out[it->second];
    h.records.push_back(&r);
    if (r.ok && std::isfinite(r.gflops)) h.best_gflops = std::max(h.best_gflops, r.gflops);
  }
  return out;
}

std::vector<Observation> transfer_observations(const std::vector<LayerHistory>& history, const Target& target, int threads,
                                               const TemplateChoice& choice, size_t limit) {
  std::vector<std::pair<const TrialRecord*, const Workload*>> ok;
  for (const LayerHistory& h : history) {
    for (const TrialRecord* r : h.records) {
      if (r->ok && r->gflops > 0) ok.push_back({r, &h.workload});
    }
  }
  // Database order is time order: keep the most recent.
  std::stable_sort(ok.begin(), ok.end(), [](auto& a, auto& b) { return a.first < b.first; });
  if (ok.size() > limit) ok.erase(ok.begin(), ok.end() - long(limit));
  std::vector<Observation> out;
  for (const auto& [r, wl] : ok) {
    const ScheduleTemplate* tpl = template_of(choice, *r);
    try {
      const Config c = config_from_json(r->config);
      out.push_back({c, -std::log(r->gflops), choice.embedded(*tpl, tpl->features(*wl, target, threads, c))});
    } catch (const std::exception&) {
      // A config that no longer fits its template's features teaches nothing.
    }
  }
  return out;
}

std::optional<ZeroShotModel> ZeroShotModel::fit(const std::vector<LayerHistory>& history, const Workload& wl,
                                                const Target& target, int threads, const TemplateChoice& choice, uint64_t seed) {
  std::vector<const LayerHistory*> layers;
  for (const LayerHistory& h : history) {
    if (h.best_gflops > 0) layers.push_back(&h);
  }
  if (layers.size() < kMinLayers) return std::nullopt;
  // Nearest layers first; as many as the point budget holds.
  std::stable_sort(layers.begin(), layers.end(), [&](const LayerHistory* a, const LayerHistory* b) {
    return shape_distance(a->workload, wl) < shape_distance(b->workload, wl);
  });
  const size_t per_layer = kBestPerLayer + kSpreadPerLayer;
  layers.resize(std::min(layers.size(), std::max(kMinLayers, kMaxPoints / per_layer)));

  ZeroShotModel model(choice, threads);
  std::vector<std::vector<double>> features;
  std::vector<double> targets;
  const std::vector<Config> defaults = choice.default_points();
  for (const LayerHistory* h : layers) {
    std::vector<const TrialRecord*> ranked;
    for (const TrialRecord* r : h->records) ranked.push_back(r);
    // Failures rank last, as clearly worse than the layer's slowest success.
    double worst = 0;
    for (const TrialRecord* r : ranked) {
      if (r->ok && r->gflops > 0) worst = std::max(worst, std::log(h->best_gflops / r->gflops));
    }
    auto relative = [&](const TrialRecord* r) { return r->ok && r->gflops > 0 ? std::log(h->best_gflops / r->gflops) : worst + 1.0; };
    std::stable_sort(ranked.begin(), ranked.end(), [&](auto* a, auto* b) { return relative(a) < relative(b); });
    std::vector<const TrialRecord*> kept(ranked.begin(), ranked.begin() + long(std::min(ranked.size(), kBestPerLayer)));
    const size_t first_rest = kept.size(), rest = ranked.size() - first_rest;
    const size_t spread = std::min(rest, kSpreadPerLayer);
    for (size_t i = 0; i < spread; ++i) kept.push_back(ranked[first_rest + i * rest / spread]);
    for (const TrialRecord* r : kept) {
      const ScheduleTemplate* tpl = template_of(choice, *r);
      try {
        const Config c = config_from_json(r->config);
        features.push_back(choice.embedded(*tpl, tpl->features(h->workload, target, threads, c)));
        targets.push_back(relative(r));
      } catch (const std::exception&) {
        continue;
      }
    }
    // The layer's best configs, fitted to this layer's knobs: the candidates the model ranks.
    // From a layer of another kind, only configs of the template this layer uses by default.
    const bool alike = same_kind(h->workload, wl);
    for (size_t b = 0, taken = 0; b < ranked.size() && taken < kSeedsPerLayer; ++b) {
      const TrialRecord* best = ranked[b];
      if (!best->ok) break;
      const ScheduleTemplate* tpl = template_of(choice, *best);
      if (!alike && tpl != choice.templates().front()) continue;
      ++taken;
      for (size_t i = 0; i < choice.templates().size(); ++i) {
        if (choice.templates()[i] != tpl) continue;
        const KnobSpace& space = choice.space().is_union() ? choice.space().alternatives[i] : choice.space();
        try {
          model.seeds_.push_back(*choice.join(*tpl, fitted_to(space, config_from_json(best->config), choice.split(defaults[i]).second)));
        } catch (const std::exception&) {
        }
      }
    }
  }
  if (features.size() < 2) return std::nullopt;
  const size_t d = features.front().size();
  model.lo_.assign(d, std::numeric_limits<double>::infinity());
  model.hi_.assign(d, -std::numeric_limits<double>::infinity());
  for (const auto& f : features) {
    for (size_t j = 0; j < d; ++j) {
      model.lo_[j] = std::min(model.lo_[j], f[j]);
      model.hi_[j] = std::max(model.hi_[j], f[j]);
    }
  }
  Eigen::MatrixXd X(long(features.size()), long(d));
  Eigen::VectorXd y(long(targets.size()));
  for (size_t i = 0; i < features.size(); ++i) {
    for (size_t j = 0; j < d; ++j) {
      const double span = model.hi_[j] - model.lo_[j];
      X(long(i), long(j)) = span > 0 ? (features[i][j] - model.lo_[j]) / span : 0.0;
    }
    y(long(i)) = targets[i];
  }
  model.gp_.fit(X, y, seed, 2);
  model.layers_ = layers.size();
  model.points_ = features.size();
  return model;
}

Eigen::MatrixXd ZeroShotModel::scaled(const std::vector<Config>& points) const {
  Eigen::MatrixXd P(long(points.size()), long(lo_.size()));
  for (size_t i = 0; i < points.size(); ++i) {
    const std::vector<double> f = choice_->features(threads_, points[i]);
    for (size_t j = 0; j < lo_.size(); ++j) {
      const double span = hi_[j] - lo_[j];
      P(long(i), long(j)) = span > 0 ? (f[j] - lo_[j]) / span : 0.0;
    }
  }
  return P;
}

std::vector<Config> ZeroShotModel::best_points(size_t n) const {
  const KnobSpace& space = choice_->space();
  // Candidates are configs known to be good for similar layers, and the defaults: the model
  // ranks them. Moving off them (a random sample, one-knob moves) puts the pick where the model
  // knows least: on the suites it picked such guesses over both the neighbours' best and the
  // default, and lost to both.
  std::vector<Config> pool;
  ConfigIndexSet in_pool;
  auto add = [&](const Config& c) {
    if (in_pool.insert(space.index_of(c)).second) pool.push_back(c);
  };
  // The default of the template this kind of layer uses first; the others' defaults only come
  // in as seeds, through layers of this kind on which they won.
  add(choice_->default_points().front());
  for (const Config& c : seeds_) add(c);
  // Pessimistic: the mean plus one standard deviation, so that a config far from anything
  // measured (where the model only guesses) loses to one it knows to be good.
  const auto [mean, var] = gp_.predict(scaled(pool));
  std::vector<std::pair<double, Config>> scored;
  for (size_t i = 0; i < pool.size(); ++i) scored.push_back({mean(long(i)) + std::sqrt(var(long(i))), pool[i]});
  std::stable_sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<Config> out;
  for (size_t i = 0; i < std::min(n, scored.size()); ++i) out.push_back(scored[i].second);
  return out;
}

std::optional<ZeroShotConfig> zero_shot_config(const Database& db, const Workload& wl, const Target& target, int threads,
                                               uint64_t seed) {
  std::vector<const ScheduleTemplate*> templates = applicable_templates(wl, target);
  if (templates.empty()) return std::nullopt;
  const TemplateChoice choice(templates, wl, target);
  const std::optional<ZeroShotModel> model =
      ZeroShotModel::fit(layer_history(db, wl, target, threads, choice), wl, target, threads, choice, seed);
  if (!model) return std::nullopt;
  const std::vector<Config> best = model->best_points(1);
  if (best.empty()) return std::nullopt;
  const auto [tpl, own] = choice.split(best.front());
  return ZeroShotConfig{tpl, own, choice.schedule(best.front()), model->layers()};
}

} // namespace convtune
