/// \file Learning from other layers: the history a model may read, the zero-shot config it
/// predicts for a layer with no records, and where that prediction is used (the first trial of
/// `tune`, `run` and `bench` with a database). The history is synthetic: one config is the
/// fastest on every other layer, and it is not any template's default.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "schedules/schedule_template.h"
#include "schedules/template_choice.h"
#include "targets/target.h"
#include "tests/test_support.h"
#include "tuner/database.h"
#include "tuner/measurer.h"
#include "tuner/transfer.h"
#include "tuner/tuning_loop.h"

using namespace convtune;
using convtune::testing::TempPath;

namespace {

Target fixed_target() { return convtune::testing::x86_target("znver4", 512, /*cores=*/2); }

/// The config every synthetic layer runs fastest with: two vectors of output channels, 16 input
/// channels per block, 7 columns, rows in pairs, the second reduction order, unrolled.
Config good_config(const Target& target) {
  return {{"oc_bn", 2 * target.vector_lanes()}, {"ic_bn", 16}, {"ow_bn", 7}, {"oh_bn", 2},
          {"order", 1},                         {"unroll_kw", 1}, {"parallel", 1}};
}

/// GFLOP/s falling with the distance from the good config, knob by knob.
double synthetic_gflops(const Config& c, const Config& good) {
  double d = 0;
  for (const auto& [k, v] : good) {
    const double a = std::log2(double(std::max<int64_t>(c.at(k), 1)) + 1), b = std::log2(double(std::max<int64_t>(v, 1)) + 1);
    d += std::abs(a - b);
  }
  return 200.0 * std::exp(-0.5 * d);
}

/// Appends `count` records of direct_nchwc configs of `wl` (the good one, the default and
/// seeded random ones) to `db`, with synthetic speeds; `best` is the fastest.
void add_history(Database& db, const Workload& wl, const Target& target, int threads, const Config& best, int count, uint64_t seed) {
  const ScheduleTemplate& tpl = template_named("direct_nchwc");
  const KnobSpace space = tpl.space(wl, target);
  std::vector<Config> configs = {best, tpl.default_config(wl, target)};
  std::mt19937_64 rng(seed);
  while (int(configs.size()) < count) configs.push_back(space.at(rng() % space.size()));
  for (const Config& c : configs) {
    MeasureResult m;
    m.ok = true;
    m.gflops = synthetic_gflops(c, best);
    m.median_ms = wl.flops() / (m.gflops * 1e6);
    m.times_ms = {m.median_ms};
    db.append(trial_record(wl, target, threads, tpl, c, make_schedule(wl, space, c), m));
  }
}

/// A tiny layer, quick to measure, and three of its neighbours with a history in which the
/// good config (fitted to their size) is the fastest; returns that config.
const char* kTiny = "n=1,c=8,h=6,w=6,k=16,r=3,s=3,pad=1";
Config write_tiny_history(const std::string& path, const Target& target) {
  Config good = good_config(target);
  good["oc_bn"] = target.vector_lanes();
  good["ic_bn"] = 8;
  good["ow_bn"] = 3;
  Database db(path);
  for (const char* spec : {"n=1,c=8,h=6,w=6,k=32,r=3,s=3,pad=1", "n=1,c=8,h=8,w=8,k=16,r=3,s=3,pad=1",
                           "n=1,c=16,h=6,w=6,k=16,r=3,s=3,pad=1"}) {
    add_history(db, parse_workload(spec), target, 1, good, 12, 5);
  }
  return good;
}

const char* kNew = "n=1,c=64,h=28,w=28,k=64,r=3,s=3,pad=1";
const std::vector<const char*> kOthers = {"n=1,c=64,h=28,w=28,k=96,r=3,s=3,pad=1", "n=1,c=48,h=28,w=28,k=64,r=3,s=3,pad=1",
                                          "n=1,c=64,h=32,w=32,k=64,r=3,s=3,pad=1"};

/// The history of kOthers at one thread: the good config fastest on each.
void add_others_history(Database& db, const Target& target) {
  for (size_t i = 0; i < kOthers.size(); ++i) add_history(db, parse_workload(kOthers[i]), target, 1, good_config(target), 14, i + 1);
}

} // namespace

TEST_CASE("zero-shot: a new layer gets the config that is fastest on the similar layers", "[tuner][transfer]") {
  const Target target = fixed_target();
  TempPath path("transfer", ".jsonl");
  Database db(path.str());
  const Workload wl = parse_workload(kNew);
  add_others_history(db, target);
  // The layer's own records (another config best) and another thread count's do not teach it.
  Config own_best = good_config(target);
  own_best["ow_bn"] = 14;
  own_best["order"] = 0;
  add_history(db, wl, target, 1, own_best, 10, 9);
  Config other_threads = good_config(target);
  other_threads["ic_bn"] = 8;
  for (const char* spec : kOthers) add_history(db, parse_workload(spec), target, 2, other_threads, 10, 7);

  const std::optional<ZeroShotConfig> z = zero_shot_config(db, wl, target, 1);
  REQUIRE(z);
  CHECK(std::string(z->tpl->name()) == "direct_nchwc");
  CHECK(config_to_json(z->config) == config_to_json(good_config(target)));
  CHECK(z->layers == kOthers.size());
  CHECK(z->config != template_named("direct_nchwc").default_config(wl, target));
  CHECK(z->schedule == make_schedule(wl, template_named("direct_nchwc").space(wl, target), z->config));
}

TEST_CASE("zero-shot: another layer's best config is fitted to the new layer's knobs", "[tuner][transfer]") {
  const Target target = fixed_target();
  TempPath path("transfer_fit", ".jsonl");
  Database db(path.str());
  add_others_history(db, target);
  SECTION("a value the space lacks: the nearest") {
    // 5 output columns and 12 input channels: ow_bn 7 is not in this layer's space, ic_bn 16 is
    // not a divisor of 12; the nearest values are taken.
    const Workload narrow = parse_workload("n=1,c=12,h=5,w=5,k=64,r=3,s=3,pad=1");
    const std::optional<ZeroShotConfig> z = zero_shot_config(db, narrow, target, 1);
    REQUIRE(z);
    const KnobSpace space = template_named("direct_nchwc").space(narrow, target);
    CHECK_NOTHROW(space.index_of(z->config));
    CHECK(z->config.at("ow_bn") == 5);
    CHECK(z->config.at("ic_bn") == 12);
  }
  SECTION("a tile that would waste work past the layer's edge: one that does not") {
    // 15 output columns: the neighbours' 7 would run three tiles of 7 (21 columns, 6 wasted);
    // 5, within a factor of two of 7, runs three tiles of 5 and wastes none. The space's knob
    // says which extent it tiles.
    const Workload wl = parse_workload("n=1,c=64,h=15,w=15,k=64,r=3,s=3,pad=1");
    const KnobSpace space = template_named("direct_nchwc").space(wl, target);
    const auto ow = std::find_if(space.knobs.begin(), space.knobs.end(), [](const Knob& k) { return k.name == "ow_bn"; });
    REQUIRE(ow != space.knobs.end());
    CHECK(ow->extent == 15);
    const std::optional<ZeroShotConfig> z = zero_shot_config(db, wl, target, 1);
    REQUIRE(z);
    CHECK(z->config.at("ow_bn") == 5);
    CHECK(z->config.at("oc_bn") == good_config(target).at("oc_bn"));
  }
}

TEST_CASE("zero-shot: too little history, another slot's or an older template version's, predicts nothing", "[tuner][transfer]") {
  const Target target = fixed_target();
  TempPath path("transfer_thin", ".jsonl");
  Database db(path.str());
  const Workload wl = parse_workload(kNew);
  CHECK_FALSE(zero_shot_config(db, wl, target, 1));  // empty
  add_history(db, parse_workload(kOthers[0]), target, 1, good_config(target), 8, 1);
  CHECK_FALSE(zero_shot_config(db, wl, target, 1));  // one layer
  add_history(db, parse_workload(kOthers[1]), target, 2, good_config(target), 8, 2);
  CHECK_FALSE(zero_shot_config(db, wl, target, 1));  // the second layer is another thread count's
  // A record of an older version of the template is not this version's knowledge.
  TrialRecord old = db.records().back();
  old.workload_key = parse_workload(kOthers[2]).key();
  old.workload = parse_workload(kOthers[2]);
  old.threads = 1;
  old.template_version = template_named("direct_nchwc").version() - 1;
  db.append(old);
  CHECK_FALSE(zero_shot_config(db, wl, target, 1));
  add_history(db, parse_workload(kOthers[2]), target, 1, good_config(target), 8, 3);
  CHECK(zero_shot_config(db, wl, target, 1));

  const TemplateChoice choice({&template_named("direct_nchwc")}, wl, target);
  const std::vector<LayerHistory> history = layer_history(db, wl, target, 1, choice);
  REQUIRE(history.size() == 2);
  CHECK(history[0].workload.key() == parse_workload(kOthers[0]).key());
  CHECK(history[0].records.size() == 8);
  CHECK(history[0].best_gflops == Approx(200.0));
  CHECK(transfer_observations(history, target, 1, choice, 5).size() == 5);
}

TEST_CASE("tune measures the predicted config first on a layer new to a database with history", "[tuner][transfer]") {
  const Target target = host_target();
  TempPath path("transfer_tune", ".jsonl");
  const Workload wl = parse_workload(kTiny);
  write_tiny_history(path.str(), target);
  Database db(path.str());
  std::ostringstream warnings;
  db.load(warnings);
  const std::optional<ZeroShotConfig> z = zero_shot_config(db, wl, target, 1);
  REQUIRE(z);
  MeasureOptions mo;
  mo.repeat = 1;
  mo.min_repeat_ms = 1;
  mo.timeout_s = 10;
  Measurer measurer(CONVTUNE_BINARY, mo);
  TuneOptions options;
  options.trials = 1;
  options.batch = 4;
  tune_workload(wl, target, db, measurer, options);
  const std::vector<const TrialRecord*> mine = db.find(wl.key(), target_slot(target.key(), 1));
  REQUIRE(mine.size() == 1);
  CHECK(mine[0]->template_name == z->tpl->name());
  CHECK(mine[0]->config == config_to_json(z->config));
  CHECK(mine[0]->ok);
}

TEST_CASE("run and bench with a database: the tuned config, else the predicted one, else the default", "[tuner][transfer][cli]") {
  const Target target = host_target();
  TempPath path("transfer_cli", ".jsonl");
  const char* tiny = kTiny;
  const Config good = write_tiny_history(path.str(), target);
  using convtune::testing::parse_stdout;
  using convtune::testing::run_convtune;
  nlohmann::json j = parse_stdout(run_convtune({"run", "--workload", tiny, "--db", path.str(), "--repeat", "1", "--json"}));
  CHECK(j["ok"] == true);
  CHECK(j["schedule_source"] == "predicted from 3 other layers' records");
  CHECK(j["config"] == config_to_json(good));

  j = parse_stdout(run_convtune({"run", "--workload", tiny, "--db", path.str() + ".absent", "--repeat", "1", "--json"}));
  CHECK(j["schedule_source"] == "default");

  // A layer of the database runs its own best.
  j = parse_stdout(run_convtune({"run", "--workload", "n=1,c=8,h=6,w=6,k=32,r=3,s=3,pad=1", "--db", path.str(), "--repeat", "1", "--json"}));
  CHECK(j["schedule_source"] == "tuned (200.0 GFLOP/s measured)");

  j = parse_stdout(run_convtune({"bench", "--workload", tiny, "--db", path.str(), "--backends", "default,predicted,tuned", "--repeat", "1", "--json"}));
  const nlohmann::json& rows = j["layers"][0]["results"];
  REQUIRE(rows.size() == 3);
  CHECK(rows[1]["backend"] == "predicted");
  CHECK(rows[1]["ok"] == true);
  CHECK(rows[1]["detail"].get<std::string>().find(config_to_json(good).dump()) != std::string::npos);
  CHECK(rows[2]["unavailable"].get<std::string>().find("no record") != std::string::npos);
}
