/// \file Strict option parsing: every mistake is one line naming the option.
#include "compiler/cli/args.h"

#include <cerrno>
#include <cstdlib>

#include "ir/error.h"
#include "ir/sparse.h"
#include "ir/suites.h"
#include "runtime/memory_budget.h"

namespace convtune::cli {

Args::Args(std::string command, std::vector<OptionSpec> specs)
    : command_(std::move(command)), specs_(std::move(specs)) {}

const OptionSpec& Args::spec(const std::string& name) const {
  for (const OptionSpec& s : specs_) {
    if (s.name == name) return s;
  }
  throw InternalError("option --" + name + " is not declared for " + command_);
}

bool Args::parse(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word == "--help" || word == "-h") return false;
    if (word.rfind("--", 0) != 0) {
      throw UserError("unexpected argument '" + word + "' for 'convtune " + command_ +
                      "' (see convtune " + command_ + " --help)");
    }
    std::string name = word.substr(2), value;
    bool inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    const OptionSpec* found = nullptr;
    for (const OptionSpec& s : specs_) {
      if (s.name == name) found = &s;
    }
    if (!found) {
      throw UserError("unknown option '--" + name + "' for 'convtune " + command_ + "' (see convtune " +
                      command_ + " --help)");
    }
    if (found->value_name.empty()) {
      if (inline_value) throw UserError("option '--" + name + "' takes no value");
      values_[name] = "1";
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argv.size() || argv[i + 1].rfind("--", 0) == 0) {
        throw UserError("option '--" + name + "' needs a value (" + found->value_name + ")");
      }
      value = argv[++i];
    }
    if (values_.count(name)) throw UserError("option '--" + name + "' given twice");
    values_[name] = value;
  }
  return true;
}

std::string Args::help(const std::string& summary) const {
  std::string text = summary + "\n\noptions:\n";
  for (const OptionSpec& s : specs_) {
    std::string left = "  --" + s.name + (s.value_name.empty() ? "" : " " + s.value_name);
    if (left.size() < 26) left.resize(26, ' ');
    else left += "  ";
    text += left + s.help;
    if (!s.default_value.empty()) text += " (default " + s.default_value + ")";
    text += "\n";
  }
  return text + "  --help                  this text\n";
}

std::string Args::get(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() ? it->second : spec(name).default_value;
}

std::string Args::require(const std::string& name) const {
  if (!has(name)) {
    throw UserError("missing option '--" + name + "' for 'convtune " + command_ + "' (see convtune " +
                    command_ + " --help)");
  }
  return get(name);
}

int64_t Args::get_int(const std::string& name, int64_t min_value) const {
  const std::string text = get(name);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    throw UserError("option '--" + name + "' has value '" + text + "': not an integer");
  }
  if (v < min_value) {
    throw UserError("option '--" + name + "' has value '" + text + "': must be at least " +
                    std::to_string(min_value));
  }
  return v;
}

double Args::get_double(const std::string& name, double min_value) const {
  const std::string text = get(name);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || v != v) {
    throw UserError("option '--" + name + "' has value '" + text + "': not a number");
  }
  if (v < min_value) {
    throw UserError("option '--" + name + "' has value '" + text + "': must be at least " +
                    std::to_string(min_value));
  }
  return v;
}

namespace {

/// `wl` with the weights --weights or --sparsity name, their pattern's digest in its key.
Workload with_weights_options(Workload wl, const Args& args) {
  if (args.has("sparsity-block") && !args.has("sparsity")) throw UserError("--sparsity-block needs --sparsity");
  if (args.has("weights") && args.has("sparsity")) throw UserError("--weights and --sparsity exclude each other");
  if (args.has("weights")) {
    wl.weights.file = args.get("weights");
  } else if (args.has("sparsity")) {
    wl.weights.pruned = true;
    wl.weights.sparsity = args.get_double("sparsity", 0);
    if (wl.weights.sparsity > 1) throw UserError("invalid --sparsity '" + args.get("sparsity") + "': expected a fraction in [0, 1]");
    wl.weights.block = args.get_int("sparsity-block", 1);
  } else {
    return wl;
  }
  wl.validate();
  return with_weights_digest(wl);
}

} // namespace

std::vector<Workload> selected_workloads(const Args& args) {
  if (args.has("workload") == args.has("suite")) throw UserError(args.command() + " needs exactly one of --workload and --suite");
  if (!args.has("suite")) return {selected_workload(args)};
  if (args.has("weights")) throw UserError("--weights names one layer's weights: use it with --workload, not --suite");
  std::vector<Workload> out;
  for (const Workload& wl : suite_layers(args.get("suite"))) out.push_back(with_weights_options(wl, args));
  return out;
}

Workload selected_workload(const Args& args) { return with_weights_options(parse_workload(args.require("workload")), args); }

TimingOptions timing_options(const Args& args) {
  TimingOptions timing;
  timing.measurements = int(args.get_int("repeat", 1));
  timing.min_measurement_ms = args.get_double("min-repeat-ms", 0);
  return timing;
}

MeasureOptions measure_options(const Args& args, const Target& target) {
  MeasureOptions mo;
  mo.target = target.name;
  mo.threads = int(args.get_int("threads", 1));
  const TimingOptions timing = timing_options(args);
  mo.repeat = timing.measurements;
  mo.min_repeat_ms = timing.min_measurement_ms;
  mo.timeout_s = args.get_double("timeout", 0.1);
  return mo;
}

void apply_memory_limit(const Args& args) {
  if (args.has("max-memory")) set_memory_budget(parse_memory_size(args.get("max-memory")));
}

} // namespace convtune::cli
