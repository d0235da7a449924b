/// \file libFuzzer target: schedule JSON (`--schedule FILE`, database traces) read and replayed
/// on a small convolution: every refusal is a ScheduleError/UserError naming the step, never a
/// crash or an internal error.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/workload.h"
#include "schedules/schedule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const convtune::Workload workloads[] = {
      convtune::parse_workload("n=1,c=6,h=7,w=9,k=10,r=3,s=3,pad=1"),
      convtune::parse_workload("n=1,c=8,h=6,w=6,k=8,r=3,s=3,pad=1,groups=8"),
      convtune::parse_workload("n=1,c=4,h=7,w=7,r=3,s=3,stride=2,pad=1,op=avgpool"),
  };
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    const convtune::Schedule schedule = convtune::schedule_from_json(j);
    for (const convtune::Workload& wl : workloads) {
      try {
        (void)convtune::apply_schedule_stages(wl, schedule);
      } catch (const convtune::UserError&) {
      }
    }
  } catch (const convtune::UserError&) {
  }
  return 0;
}
