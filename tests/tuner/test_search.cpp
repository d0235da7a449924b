/// \file The searchers on a synthetic cost (no measuring): seeded determinism, no repeats, BTED's spread-out first batch, model searchers beating random.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/workload.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"
#include "tests/test_support.h"
#include "tuner/searcher.h"

using namespace convtune;

namespace {

/// A fixed AVX-512 target, so the spaces and features do not depend on the machine.
Target fixed_target() { return convtune::testing::x86_target("znver4", 512, /*cores=*/2); }

/// 4 x 7 x 28 x 2 x 2 x 2 = 6272 configs of direct_nchwc with 16 lanes.
const char* kLarge = "n=1,c=64,h=28,w=28,k=64,r=3,s=3,pad=1";
/// 1 x 4 x 6 x 2 x 2 x 2 = 192 configs.
const char* kSmall = "n=1,c=8,h=6,w=6,k=16,r=3,s=3,pad=1";

const std::vector<std::string> kSearchers = {"random", "gp", "anneal", "bted"};

SearchContext context_for(const Workload& wl, const Target& target, uint64_t seed) {
  SearchContext ctx;
  ctx.space = knob_space(wl, target);
  ctx.features = [wl, target](const Config& c) { return template_for(wl, target).features(wl, target, 1, c); };
  ctx.seed = seed;
  return ctx;
}

/// A smooth cost of the knob values with one clear optimum (cost 0) at oc_bn 32, ic_bn 16,
/// ow_bn 12, oh_bn 2, order 0, unroll_kw 0. Lower is better, as for the searchers' -log(GFLOP/s).
double synthetic_cost(const Config& c) {
  const double oc = std::log2(double(c.at("oc_bn"))) - 5;
  const double ic = std::log2(double(c.at("ic_bn"))) - 4;
  const double ow = (double(c.at("ow_bn")) - 12) / 6;
  return oc * oc + 0.5 * ic * ic + ow * ow + 0.5 * double(c.at("oh_bn") == 1) + 0.3 * double(c.at("order")) +
         0.2 * double(c.at("unroll_kw"));
}

std::vector<Observation> observations(const std::vector<Config>& configs) {
  std::vector<Observation> out;
  for (const Config& c : configs) out.push_back({c, synthetic_cost(c), {}});
  return out;
}

std::string text(const Config& c) { return config_to_json(c).dump(); }

/// Every proposal of `rounds` rounds of propose(n) / observe.
std::vector<std::vector<Config>> run_rounds(Searcher& s, int rounds, int n) {
  std::vector<std::vector<Config>> out;
  for (int i = 0; i < rounds; ++i) {
    std::vector<Config> batch = s.propose(n);
    s.observe(observations(batch));
    out.push_back(batch);
  }
  return out;
}

/// Features of every config of the space, min-max scaled per column over the whole space.
struct ScaledSpace {
  KnobSpace space;
  std::vector<std::vector<double>> features;  ///< by space index

  ScaledSpace(const Workload& wl, const Target& target) : space(knob_space(wl, target)) {
    for (uint64_t i = 0; i < space.size(); ++i) features.push_back(template_for(wl, target).features(wl, target, 1, space.at(i)));
    const size_t d = features.front().size();
    for (size_t j = 0; j < d; ++j) {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (const auto& f : features) {
        lo = std::min(lo, f[j]);
        hi = std::max(hi, f[j]);
      }
      for (auto& f : features) f[j] = hi > lo ? (f[j] - lo) / (hi - lo) : 0.0;
    }
  }

  /// The smallest Euclidean distance between two of `configs` in scaled feature space.
  double min_pairwise_distance(const std::vector<Config>& configs) const {
    double best = std::numeric_limits<double>::infinity();
    for (size_t a = 0; a < configs.size(); ++a) {
      for (size_t b = a + 1; b < configs.size(); ++b) {
        const auto& fa = features[space.index_of(configs[a])];
        const auto& fb = features[space.index_of(configs[b])];
        double d2 = 0;
        for (size_t j = 0; j < fa.size(); ++j) d2 += (fa[j] - fb[j]) * (fa[j] - fb[j]);
        best = std::min(best, std::sqrt(d2));
      }
    }
    return best;
  }
};

/// The best synthetic cost a searcher finds in `budget` proposals, in batches of 8.
double best_found(const std::string& name, uint64_t seed, int budget) {
  const Workload wl = parse_workload(kLarge);
  std::unique_ptr<Searcher> s = make_searcher(name, context_for(wl, fixed_target(), seed));
  double best = std::numeric_limits<double>::infinity();
  for (int proposed = 0; proposed < budget;) {
    std::vector<Config> batch = s->propose(std::min(8, budget - proposed));
    REQUIRE_FALSE(batch.empty());
    proposed += int(batch.size());
    for (const Config& c : batch) best = std::min(best, synthetic_cost(c));
    s->observe(observations(batch));
  }
  return best;
}

} // namespace

TEST_CASE("searchers with the same seed and the same observations propose the same configs", "[tuner][search]") {
  const Workload wl = parse_workload(kLarge);
  const Target target = fixed_target();
  for (const std::string& name : kSearchers) {
    INFO("searcher " << name);
    std::unique_ptr<Searcher> a = make_searcher(name, context_for(wl, target, 7));
    std::unique_ptr<Searcher> b = make_searcher(name, context_for(wl, target, 7));
    const auto ra = run_rounds(*a, 3, 4);
    const auto rb = run_rounds(*b, 3, 4);
    REQUIRE(ra.size() == 3);
    for (size_t i = 0; i < ra.size(); ++i) {
      INFO("round " << i + 1);
      REQUIRE(ra[i].size() == 4);
      REQUIRE(ra[i] == rb[i]);
    }
  }
}

TEST_CASE("searchers warmed with the same earlier observations propose the same configs", "[tuner][search]") {
  const Workload wl = parse_workload(kLarge);
  const Target target = fixed_target();
  const KnobSpace space = knob_space(wl, target);
  const std::vector<Config> earlier = {default_config(wl, target), space.at(5), space.at(4000), space.at(6000)};
  for (const std::string& name : kSearchers) {
    INFO("searcher " << name);
    std::unique_ptr<Searcher> a = make_searcher(name, context_for(wl, target, 11));
    std::unique_ptr<Searcher> b = make_searcher(name, context_for(wl, target, 11));
    a->observe(observations(earlier));
    b->observe(observations(earlier));
    REQUIRE(run_rounds(*a, 3, 4) == run_rounds(*b, 3, 4));
  }
}

TEST_CASE("the random searcher with different seeds proposes different configs", "[tuner][search]") {
  const Workload wl = parse_workload(kLarge);
  const Target target = fixed_target();
  std::unique_ptr<Searcher> a = make_searcher("random", context_for(wl, target, 1));
  std::unique_ptr<Searcher> b = make_searcher("random", context_for(wl, target, 2));
  REQUIRE(a->propose(8) != b->propose(8));
}

TEST_CASE("searchers never propose a config twice or one already observed", "[tuner][search]") {
  const Workload wl = parse_workload(kLarge);
  const Target target = fixed_target();
  const KnobSpace space = knob_space(wl, target);
  // Observed before the first proposal, as a resumed session does; a failure among them.
  std::vector<Observation> earlier = observations({default_config(wl, target), space.at(1), space.at(2), space.at(3000)});
  earlier.push_back({space.at(4), std::numeric_limits<double>::infinity(), {}});
  for (const std::string& name : kSearchers) {
    INFO("searcher " << name);
    std::unique_ptr<Searcher> s = make_searcher(name, context_for(wl, target, 3));
    s->observe(earlier);
    std::set<std::string> seen;
    for (const Observation& o : earlier) seen.insert(text(o.config));
    for (const auto& batch : run_rounds(*s, 6, 8)) {
      REQUIRE(batch.size() == 8);
      for (const Config& c : batch) {
        INFO("config " << text(c));
        REQUIRE_NOTHROW(space.index_of(c));
        REQUIRE(seen.insert(text(c)).second);
      }
    }
  }
}

TEST_CASE("searchers propose each config of a small space once, then nothing", "[tuner][search]") {
  const Workload wl = parse_workload(kSmall);
  const Target target = fixed_target();
  const KnobSpace space = knob_space(wl, target);
  // The product of the knobs' sizes (the parallel knob doubled it from 192).
  REQUIRE(space.size() == 384);
  for (const std::string& name : kSearchers) {
    INFO("searcher " << name);
    std::unique_ptr<Searcher> s = make_searcher(name, context_for(wl, target, 5));
    s->observe(observations({default_config(wl, target)}));
    std::set<uint64_t> seen = {space.index_of(default_config(wl, target))};
    for (int round = 0; round < 10 && seen.size() < space.size(); ++round) {
      const std::vector<Config> batch = s->propose(64);
      REQUIRE_FALSE(batch.empty());
      for (const Config& c : batch) REQUIRE(seen.insert(space.index_of(c)).second);
      // Half fail, so the space runs out with failures and successes both observed.
      std::vector<Observation> results = observations(batch);
      for (size_t i = 0; i < results.size(); i += 2) results[i].cost = std::numeric_limits<double>::infinity();
      s->observe(results);
    }
    REQUIRE(seen.size() == space.size());
    REQUIRE(s->propose(8).empty());
  }
}

TEST_CASE("bted's first batch is more spread out in feature space than random batches", "[tuner][search]") {
  const Workload wl = parse_workload(kLarge);
  const Target target = fixed_target();
  const ScaledSpace scaled(wl, target);
  std::unique_ptr<Searcher> bted = make_searcher("bted", context_for(wl, target, 1));
  const std::vector<Config> first = bted->propose(8);
  REQUIRE(first.size() == 8);
  const double bted_spread = scaled.min_pairwise_distance(first);

  std::vector<double> random_spread;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::unique_ptr<Searcher> r = make_searcher("random", context_for(wl, target, seed));
    random_spread.push_back(scaled.min_pairwise_distance(r->propose(8)));
  }
  std::sort(random_spread.begin(), random_spread.end());
  const double median = (random_spread[9] + random_spread[10]) / 2;
  INFO("bted min pairwise distance " << bted_spread << ", random median " << median << " (max "
                                     << random_spread.back() << ")");
  REQUIRE(bted_spread > median);
}

TEST_CASE("gp and bted find a better synthetic optimum in 40 proposals than random does", "[tuner][search]") {
  // One seed alone can stall (gp with seed 5 ends at 0.89 here), so the claim is about the mean.
  const std::vector<uint64_t> seeds = {1, 2, 3, 4, 5, 6};
  auto mean_best = [&](const std::string& name) {
    double sum = 0;
    for (uint64_t seed : seeds) sum += best_found(name, seed, 40);
    return sum / double(seeds.size());
  };
  const double random = mean_best("random");
  const double gp = mean_best("gp");
  const double bted = mean_best("bted");
  INFO("mean best cost over " << seeds.size() << " seeds: random " << random << ", gp " << gp << ", bted " << bted);
  // Random picks 40 of 6272 configs; its best is far from the optimum (cost 0) on average.
  REQUIRE(random > 0.1);
  // Measured here: random 1.00, gp 0.16, bted 0.11; half of random's is a wide margin.
  CHECK(gp < 0.5 * random);
  CHECK(bted < 0.5 * random);
}

TEST_CASE("make_searcher refuses an unknown name", "[tuner][search]") {
  REQUIRE_THROWS_AS(make_searcher("foo", SearchContext{}), UserError);
  REQUIRE_THROWS_WITH(make_searcher("foo", SearchContext{}), "invalid --tuner 'foo': expected bted, gp, anneal or random");
}
