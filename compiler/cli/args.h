/// \file Command-line options: declared per command, parsed strictly, with generated --help.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/workload.h"
#include "runtime/measure.h"
#include "targets/target.h"
#include "tuner/measurer.h"

namespace convtune::cli {

struct OptionSpec {
  std::string name;        ///< without the leading "--"
  std::string value_name;  ///< empty for a flag that takes no value
  std::string help;
  std::string default_value;  ///< shown in --help; empty when there is none
};

/// Options several commands share, spelled and explained once.
namespace options {
inline OptionSpec workload() { return {"workload", "SPEC", "the layer (suite:LAYER, key=value list or benchdnn descriptor)", ""}; }
inline OptionSpec suite(const char* what) { return {"suite", "NAME", what, ""}; }
inline OptionSpec target(const char* what = "where to compile and run: cpu (the host), an x86-64 level (x86-64-v3, "
                                           "x86-64-v4), an x86 CPU LLVM knows (znver4, skylake-avx512, ...) or an NVIDIA "
                                           "GPU (cuda, cuda:sm_80, cuda:sm_90)") {
  return {"target", "T", what, "cpu"};
}
inline OptionSpec threads(const char* what) { return {"threads", "T", what, "1"}; }
inline OptionSpec repeat(const char* fallback) { return {"repeat", "N", "timed measurements; the median is reported", fallback}; }
inline OptionSpec min_repeat_ms(const char* fallback) {
  return {"min-repeat-ms", "MS", "each measurement repeats the call for at least this long", fallback};
}
inline OptionSpec seed(const char* what) { return {"seed", "S", what, "1"}; }
inline OptionSpec db(const char* what) { return {"db", "FILE", what, "convtune.db.jsonl"}; }
inline OptionSpec json() { return {"json", "", "print one JSON object", ""}; }
/// The layer's own weights, which a sparse kernel is compiled for (ir/sparse.h).
inline OptionSpec weights() { return {"weights", "FILE", "the layer's weights: raw f32 in KCRS order, or a .npy of f32", ""}; }
inline OptionSpec sparsity() {
  return {"sparsity", "F", "synthetic weights: random, the fraction F of smallest magnitude pruned to zero", ""};
}
inline OptionSpec sparsity_block() {
  return {"sparsity-block", "B", "with --sparsity: prune in blocks of B output channels at one tap", "1"};
}
inline OptionSpec max_memory() {
  return {"max-memory", "SIZE", "the memory a layer's tensors may take (512M, 8G, ...); default: what the machine has available", ""};
}
} // namespace options

class Args;
/// Applies --max-memory when given (runtime/memory_budget.h).
void apply_memory_limit(const Args& args);

/// Parsed options of one command. Unknown options, missing values and malformed numbers are
/// UserErrors naming the option.
class Args {
public:
  Args(std::string command, std::vector<OptionSpec> specs);

  /// Parses argv after the command word. Returns false when --help was asked for.
  bool parse(const std::vector<std::string>& argv);
  std::string help(const std::string& summary) const;

  const std::string& command() const { return command_; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name) const;  ///< the value, or the spec's default
  std::string require(const std::string& name) const;
  int64_t get_int(const std::string& name, int64_t min_value) const;
  double get_double(const std::string& name, double min_value) const;

private:
  const OptionSpec& spec(const std::string& name) const;
  std::string command_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::string> values_;
};

/// The layers of --workload or --suite (a command takes exactly one of them), with the
/// weights --weights or --sparsity give them.
std::vector<Workload> selected_workloads(const Args& args);
/// The layer of --workload (required), with its weights as above.
Workload selected_workload(const Args& args);

/// --repeat and --min-repeat-ms as timing options.
TimingOptions timing_options(const Args& args);

/// How a measuring worker runs candidates for `target`: --threads, --repeat, --min-repeat-ms
/// and --timeout (tune and measure).
MeasureOptions measure_options(const Args& args, const Target& target);

} // namespace convtune::cli
