/// \file Memory checks before allocation (see the header).
#include "runtime/memory_budget.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "ir/error.h"

namespace convtune {

namespace {
double budget_override = 0;

double available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  double kb = 0;
  while (in >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024.0;
  }
  return INFINITY;  // not Linux, or no such line: nothing to check against
}
} // namespace

double memory_budget() { return budget_override > 0 ? budget_override : available_bytes(); }

void set_memory_budget(double bytes) { budget_override = bytes; }

double parse_memory_size(const std::string& text, const std::string& option) {
  double value = 0;
  char unit = 0;
  std::istringstream in(text);
  const bool number = bool(in >> value);
  if (number) in >> unit;
  std::string rest;
  in >> rest;
  double scale = 1;
  switch (unit) {
  case 0: break;
  case 'K': case 'k': scale = 1024.0; break;
  case 'M': case 'm': scale = 1024.0 * 1024; break;
  case 'G': case 'g': scale = 1024.0 * 1024 * 1024; break;
  case 'T': case 't': scale = 1024.0 * 1024 * 1024 * 1024; break;
  default: scale = 0;
  }
  if (!number || scale == 0 || !rest.empty() || !(value > 0) || !std::isfinite(value)) {
    throw UserError(option + " '" + text + "' is not a size (e.g. 512M, 8G, 1.5T or bytes)");
  }
  return value * scale;
}

std::string bytes_text(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g %s", bytes, units[u]);
  return buf;
}

void require_memory_for(const Workload& wl) {
  // In double: the products may exceed int64 for a workload this check exists to refuse.
  const double n = double(wl.n), c = double(wl.c), h = double(wl.h), w = double(wl.w), k = double(wl.k);
  const double out = n * k * double(wl.p()) * double(wl.q());
  struct Need {
    const char* name;
    double bytes;
    std::string formula;
  };
  std::vector<Need> needs = {{"input", 4 * n * c * h * w, "n*c*h*w"}, {"output", 4 * out, "n*k*p*q"},
                             {"reference", 16 * out, "two doubles per output element"}};
  if (!wl.is_pool()) {
    needs.push_back({"weights", 4 * k * double(wl.c_per_group()) * double(wl.r) * double(wl.s), "k*c/groups*r*s"});
  }
  if (wl.has_bias()) needs.push_back({"bias", 4 * k, "k"});
  if (wl.has_residual()) needs.push_back({"residual", 4 * out, "n*k*p*q"});
  double total = 0;
  const Need* largest = &needs.front();
  for (const Need& need : needs) {
    total += need.bytes;
    if (need.bytes > largest->bytes) largest = &need;
  }
  const double budget = memory_budget();
  if (total <= budget) return;
  char floats[32];
  std::snprintf(floats, sizeof floats, "%.3g", largest->bytes / 4);
  const std::string limit = budget_override > 0 ? "--max-memory allows " + bytes_text(budget)
                                                : bytes_text(budget) + " is available (--max-memory sets another limit)";
  const std::string size = std::string(largest->name) == "reference" ? largest->formula
                                                                     : largest->formula + " = " + floats + " floats";
  throw UserError("workload " + wl.spec() + " needs " + bytes_text(total) + " for its tensors (the largest, '" + largest->name +
                  "', is " + bytes_text(largest->bytes) + ": " + size + "); " + limit);
}

} // namespace convtune
