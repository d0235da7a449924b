/// \file Searching several templates as one space: the union's indexing, sampling and
/// mutations, the features that tell templates apart, and the searchers choosing the template
/// that is clearly best on a synthetic cost (no measuring).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>

#include "ir/error.h"
#include "ir/workload.h"
#include "schedules/template_choice.h"
#include "tests/test_support.h"
#include "tuner/candidate_pool.h"
#include "tuner/searcher.h"

using namespace convtune;

namespace {

Target fixed_target() { return convtune::testing::x86_target("znver4", 512, /*cores=*/2); }

/// A 3x3 stride-1 layer: direct, im2col + GEMM and Winograd all apply.
const char* k3x3 = "n=1,c=32,h=14,w=14,k=32,r=3,s=3,pad=1";

std::string template_of(const TemplateChoice& choice, const Config& point) { return choice.split(point).first->name(); }

size_t winograd_index(const TemplateChoice& choice) {
  for (size_t i = 0; i < choice.templates().size(); ++i) {
    if (std::string(choice.templates()[i]->name()) == "winograd") return i;
  }
  FAIL("winograd is not among the choice's templates");
  return 0;
}

} // namespace

TEST_CASE("a union space indexes each template's configs after the ones before it", "[tuner][choice]") {
  const Target target = fixed_target();
  const Workload wl = parse_workload(k3x3);
  const TemplateChoice choice(applicable_templates(wl, target), wl, target);
  const KnobSpace& space = choice.space();
  REQUIRE(choice.templates().size() == 3);
  REQUIRE(space.is_union());
  uint64_t sum = 0;
  for (const KnobSpace& alt : space.alternatives) sum += alt.size();
  REQUIRE(space.size() == sum);
  // Positions round-trip, and each lies in its template's range.
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<uint64_t> pick(0, space.size() - 1);
  for (int i = 0; i < 200; ++i) {
    const uint64_t index = pick(rng);
    const Config point = space.at(index);
    REQUIRE(space.index_of(point) == index);
    const size_t alt = space.alternative_of(point);
    REQUIRE(index >= space.offset_of(alt));
    REQUIRE(index < space.offset_of(alt) + space.alternatives[alt].size());
    // The point is its template's own config plus the template knob.
    const auto [tpl, own] = choice.split(point);
    REQUIRE(choice.join(*tpl, own) == point);
    REQUIRE(own.count(kTemplateKnob) == 0);
  }
  // The defaults, in the registry's order: direct first.
  const std::vector<Config> defaults = choice.default_points();
  REQUIRE(template_of(choice, defaults[0]) == "direct_nchwc");
  REQUIRE(template_of(choice, defaults[1]) == "im2col_gemm");
  REQUIRE(template_of(choice, defaults[2]) == "winograd");
  Config bad = defaults[0];
  bad[kTemplateKnob] = 3;
  REQUIRE_THROWS_WITH(space.index_of(bad), "config: knob 'template' = 3 is not in the direct_nchwc|im2col_gemm|winograd space");
}

TEST_CASE("a union's samples give each template a share, and mutations cross templates", "[tuner][choice]") {
  const Target target = fixed_target();
  const Workload wl = parse_workload(k3x3);
  const TemplateChoice choice(applicable_templates(wl, target), wl, target);
  std::mt19937_64 rng(9);
  std::map<std::string, int> sampled;
  for (const Config& c : sample_unseen(choice.space(), {}, 90, rng)) ++sampled[template_of(choice, c)];
  // Each template gets its third, whatever the size of its space.
  REQUIRE(sampled["winograd"] == 30);
  REQUIRE(sampled["direct_nchwc"] == 30);
  REQUIRE(sampled["im2col_gemm"] == 30);

  const Config base = choice.default_points()[0];
  std::set<std::string> reached;
  for (const Config& m : mutations(choice.space(), base, {}, 8, rng)) {
    reached.insert(template_of(choice, m));
    REQUIRE_NOTHROW(choice.space().index_of(m));  // a whole config of its template
  }
  REQUIRE(reached.count("im2col_gemm") == 1);  // the template knob moved one step
  REQUIRE(reached.count("direct_nchwc") == 1);
}

TEST_CASE("a union's features say the template and keep each template's own columns", "[tuner][choice]") {
  const Target target = fixed_target();
  const Workload wl = parse_workload(k3x3);
  const TemplateChoice choice(applicable_templates(wl, target), wl, target);
  const std::vector<Config> defaults = choice.default_points();
  size_t width = 0;
  for (size_t i = 0; i < defaults.size(); ++i) {
    const std::vector<double> f = choice.features(1, defaults[i]);
    if (i == 0) width = f.size();
    REQUIRE(f.size() == width);  // one length for every template
    for (size_t j = 0; j < defaults.size(); ++j) REQUIRE(f[j] == (i == j ? 1.0 : 0.0));
  }
  // One template alone: its own features, its own space.
  const TemplateChoice one({&template_named("winograd")}, wl, target);
  REQUIRE_FALSE(one.space().is_union());
  const Config own = template_named("winograd").default_config(wl, target);
  REQUIRE(one.features(1, own) == template_named("winograd").features(wl, target, 1, own));
}

TEST_CASE("the searchers choose the template that is clearly best on a synthetic cost", "[tuner][choice]") {
  const Target target = fixed_target();
  const Workload wl = parse_workload(k3x3);
  const TemplateChoice choice(applicable_templates(wl, target), wl, target);
  // Winograd is twice as fast as anything else (cost -log 2 lower); within a template the
  // cost varies a little with the config's position.
  const auto cost = [&](const Config& c) {
    const double within = double(choice.space().index_of(c) % 7) * 0.02;
    return (template_of(choice, c) == "winograd" ? 1.0 - std::log(2.0) : 1.0) + within;
  };
  // Winograd's share of the union space: what a search blind to the template would propose.
  const double blind_share = double(choice.space().alternatives[winograd_index(choice)].size()) / double(choice.space().size());
  for (const std::string name : {"bted", "gp"}) {
    INFO(name);
    // Over several seeds: a single seed's late proposals swing with bted's spread-out picks.
    int late_winograd = 0, late = 0;
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      SearchContext ctx;
      ctx.space = choice.space();
      ctx.features = [&](const Config& c) { return choice.features(1, c); };
      ctx.seed = seed;
      std::unique_ptr<Searcher> s = make_searcher(name, ctx);
      std::vector<Observation> first;
      for (const Config& d : choice.default_points()) first.push_back({d, cost(d), {}});
      s->observe(first);
      double best = INFINITY;
      std::string best_template;
      for (int round = 0; round < 5; ++round) {
        std::vector<Observation> seen;
        for (const Config& c : s->propose(8)) {
          seen.push_back({c, cost(c), {}});
          if (round >= 3) {
            ++late;
            late_winograd += template_of(choice, c) == "winograd";
          }
          if (cost(c) < best) {
            best = cost(c);
            best_template = template_of(choice, c);
          }
        }
        s->observe(seen);
      }
      INFO("seed " << seed);
      REQUIRE(best_template == "winograd");
    }
    // Once the model has seen each template, most proposals go to the best one.
    REQUIRE(late_winograd * 5 >= late * 3);
    REQUIRE(double(late_winograd) / late > 3 * blind_share);
  }
}
