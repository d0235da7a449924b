/// \file Command-line options: declared per command, parsed strictly, with generated --help.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace convtune::cli {

struct OptionSpec {
  std::string name;        ///< without the leading "--"
  std::string value_name;  ///< empty for a flag that takes no value
  std::string help;
  std::string default_value;  ///< shown in --help; empty when there is none
};

/// Parsed options of one command. Unknown options, missing values and malformed numbers are
/// UserErrors naming the option.
class Args {
public:
  Args(std::string command, std::vector<OptionSpec> specs);

  /// Parses argv after the command word. Returns false when --help was asked for.
  bool parse(const std::vector<std::string>& argv);
  std::string help(const std::string& summary) const;

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

} // namespace convtune::cli
