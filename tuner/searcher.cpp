/// \file The searcher factory and the random searcher.
#include "tuner/searcher.h"

#include <algorithm>
#include <random>

#include "ir/error.h"
#include "tuner/candidate_pool.h"

namespace convtune {

std::unique_ptr<Searcher> make_model_searcher(const std::string& name, SearchContext context);  // search_model.cpp

namespace {

/// Uniform over the valid space, without repeats.
class RandomSearcher : public Searcher {
public:
  explicit RandomSearcher(SearchContext ctx) : ctx_(std::move(ctx)), rng_(ctx_.seed) {}

  std::vector<Config> propose(int n) override {
    std::vector<Config> out = sample_unseen(ctx_.space, seen_, size_t(n), rng_);
    for (const Config& c : out) seen_.insert(ctx_.space.index_of(c));
    return out;
  }

  void observe(const std::vector<Observation>& results) override {
    for (const Observation& o : results) seen_.insert(ctx_.space.index_of(o.config));
  }

private:
  SearchContext ctx_;
  std::mt19937_64 rng_;
  ConfigIndexSet seen_;
};

} // namespace

const std::vector<std::string>& searcher_names() {
  static const std::vector<std::string> names = {"bted", "gp", "anneal", "random"};
  return names;
}

void check_searcher_name(const std::string& name) {
  const std::vector<std::string>& names = searcher_names();
  if (std::find(names.begin(), names.end(), name) != names.end()) return;
  std::string expected;
  for (size_t i = 0; i < names.size(); ++i) expected += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  throw UserError("invalid --tuner '" + name + "': expected " + expected);
}

std::unique_ptr<Searcher> make_searcher(const std::string& name, SearchContext context) {
  check_searcher_name(name);
  if (name == "random") return std::make_unique<RandomSearcher>(std::move(context));
  return make_model_searcher(name, std::move(context));
}

} // namespace convtune
