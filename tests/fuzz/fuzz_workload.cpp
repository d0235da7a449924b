/// \file libFuzzer target: parse_workload on arbitrary text (the three syntaxes: suite entries,
/// key=value specs, benchdnn descriptors). A refusal is a UserError; anything else (a crash, a
/// sanitizer report, another exception) is a bug. What parses must survive its own spec.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ir/error.h"
#include "ir/workload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  convtune::Workload wl;
  try {
    wl = convtune::parse_workload(text);
  } catch (const convtune::UserError&) {
    return 0;
  }
  // The canonical spec reads back as the same workload (the name aside).
  convtune::Workload again = convtune::parse_workload(wl.spec());
  again.name = wl.name;
  if (!(again == wl)) std::abort();
  (void)wl.key();
  (void)wl.flops();
  return 0;
}
