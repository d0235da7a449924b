/// \file libFuzzer target: a worker job line as `convtune worker` reads it before compiling (its
/// workload JSON validated, its target parsed, its schedule read): refusals only.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/workload.h"
#include "schedules/schedule.h"
#include "targets/target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nlohmann::json job = nlohmann::json::parse(data, data + size);
    convtune::Workload wl = job.at("workload").get<convtune::Workload>();
    wl.validate();
    (void)convtune::parse_target(job.value("target", "cpu"));
    if (job.contains("schedule")) (void)convtune::schedule_from_json(job.at("schedule"));
  } catch (const nlohmann::json::exception&) {
  } catch (const convtune::UserError&) {
  }
  return 0;
}
