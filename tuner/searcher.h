/// \file Searchers propose configs and learn from results; they know nothing of measuring.
///
/// Costs are -log(GFLOP/s): lower is better, and the same scale for any layer (which lets
/// records of other layers warm the model). A failed trial is observed with cost +infinity:
/// never proposed again, and shown to the model as a bad point.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "schedules/schedule_template.h"

namespace convtune {

struct Observation {
  Config config;
  double cost = 0;                ///< -log(GFLOP/s); +inf for a failed trial
  std::vector<double> features;   ///< the config's features (for transfer: of its own layer)
};

/// What a searcher knows of its problem.
struct SearchContext {
  KnobSpace space;
  std::function<std::vector<double>(const Config&)> features;
  uint64_t seed = 1;
  /// The acquisition of the model searchers: "ei" (expected improvement) or "ucb" (the
  /// confidence bound, for minimisation the lower one).
  std::string acquisition = "ei";
  /// Records of other layers on the same target and template, used to warm the model only.
  std::vector<Observation> transfer;
};

class Searcher {
public:
  virtual ~Searcher() = default;
  /// Up to `n` configs not proposed or observed before (fewer when the space runs out).
  virtual std::vector<Config> propose(int n) = 0;
  /// Results of measured configs (proposed by this searcher or from the database).
  virtual void observe(const std::vector<Observation>& results) = 0;
};

/// `random`, `anneal`, `gp` or `bted`; UserError naming the value otherwise.
std::unique_ptr<Searcher> make_searcher(const std::string& name, SearchContext context);

/// The searcher names, for --help and errors.
const std::vector<std::string>& searcher_names();

/// UserError naming the value unless `name` is one of searcher_names().
void check_searcher_name(const std::string& name);

} // namespace convtune
