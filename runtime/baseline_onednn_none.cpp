/// \file Built instead of baseline_onednn.cpp when oneDNN was not found at configure time.
#include "runtime/baseline.h"

namespace convtune {

bool onednn_available() { return false; }

std::unique_ptr<Baseline> make_onednn_baseline(const Workload&, int) { return nullptr; }

} // namespace convtune
