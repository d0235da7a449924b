/// \file The database's best, the predicted config, or the default.
#include "compiler/cli/schedule_source.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "schedules/schedule_template.h"
#include "tuner/transfer.h"

namespace convtune::cli {

std::unique_ptr<Database> database_if_present(const std::string& path) {
  if (path.empty() || !std::ifstream(path)) return nullptr;
  auto db = std::make_unique<Database>(path);
  db->load(std::cerr);
  return db;
}

std::string tuned_description(const TrialRecord& best) {
  char measured[64];
  std::snprintf(measured, sizeof measured, "tuned (%.1f GFLOP/s measured)", best.gflops);
  return measured;
}

std::optional<ChosenSchedule> predicted_schedule(const Database& db, const Workload& wl, const Target& target, int threads) {
  const std::optional<ZeroShotConfig> z = zero_shot_config(db, wl, target, threads);
  if (!z) return std::nullopt;
  return ChosenSchedule{z->schedule, "predicted from " + std::to_string(z->layers) + " other layers' records", ScheduleOrigin::Predicted};
}

ChosenSchedule schedule_from_database(const Database* db, const Workload& wl, const Target& target, int threads) {
  if (db) {
    if (const TrialRecord* best = db->best(wl.key(), target_slot(target.key(), threads))) {
      return {schedule_from_json(best->schedule), tuned_description(*best), ScheduleOrigin::Tuned};
    }
    if (std::optional<ChosenSchedule> p = predicted_schedule(*db, wl, target, threads)) return *p;
  }
  return {resolve_schedule("default", wl, target), "default"};
}

} // namespace convtune::cli
