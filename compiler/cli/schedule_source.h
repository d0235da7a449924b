/// \file Where a layer's schedule comes from when the command line names none: the tuning
/// database's best record for it, else the config predicted from the database's other layers
/// on the same target (tuner/transfer.h), else the template's hand default.
#pragma once

#include <memory>
#include <string>

#include "compiler/network_runner.h"
#include "tuner/database.h"

namespace convtune::cli {

/// The database at `path`, loaded; nullptr when there is no such file (nothing tuned yet).
std::unique_ptr<Database> database_if_present(const std::string& path);

/// "tuned (231.2 GFLOP/s measured)".
std::string tuned_description(const TrialRecord& best);

/// The zero-shot config for `wl` from `db`'s history as a ChosenSchedule ("predicted from N
/// layers' records"); nullopt without enough history.
std::optional<ChosenSchedule> predicted_schedule(const Database& db, const Workload& wl, const Target& target, int threads);

/// The database's best for `wl` on `target` with `threads`, else the predicted config, else the
/// default. `db` may be null.
ChosenSchedule schedule_from_database(const Database* db, const Workload& wl, const Target& target, int threads);

} // namespace convtune::cli
