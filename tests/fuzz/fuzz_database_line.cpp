/// \file libFuzzer target: one line of the tuning database, as Database::load reads it (JSON,
/// then a TrialRecord): a bad line is a json exception or a UserError naming the field, which
/// load turns into a warning; never a crash.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "tuner/database.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const convtune::TrialRecord r = nlohmann::json::parse(data, data + size).get<convtune::TrialRecord>();
    // What was read writes back and reads again the same.
    const nlohmann::json back = r;
    const convtune::TrialRecord again = back.get<convtune::TrialRecord>();
    if (again.workload_key != r.workload_key || again.config != r.config) __builtin_trap();
  } catch (const nlohmann::json::exception&) {
  } catch (const convtune::UserError&) {
  }
  return 0;
}
