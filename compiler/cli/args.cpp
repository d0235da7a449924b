/// \file Strict option parsing: every mistake is one line naming the option.
#include "compiler/cli/args.h"

#include "runtime/memory_budget.h"

#include <cerrno>
#include <cstdlib>

#include "ir/error.h"
#include "ir/suites.h"

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

std::vector<Workload> selected_workloads(const Args& args) {
  if (args.has("workload") == args.has("suite")) throw UserError(args.command() + " needs exactly one of --workload and --suite");
  if (args.has("suite")) return suite_layers(args.get("suite"));
  return {parse_workload(args.get("workload"))};
}

TimingOptions timing_options(const Args& args) {
  TimingOptions timing;
  timing.measurements = int(args.get_int("repeat", 1));
  timing.min_measurement_ms = args.get_double("min-repeat-ms", 0);
  return timing;
}

void apply_memory_limit(const Args& args) {
  if (args.has("max-memory")) set_memory_budget(parse_memory_size(args.get("max-memory")));
}

} // namespace convtune::cli
