/// \file The `convtune` subcommands; each takes the words after its name and returns the exit code.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/workload.h"

namespace convtune::cli {

int cmd_show(const std::vector<std::string>& argv);
int cmd_run(const std::vector<std::string>& argv);
int cmd_bench(const std::vector<std::string>& argv);
int cmd_tune(const std::vector<std::string>& argv);
int cmd_db(const std::vector<std::string>& argv);
int cmd_compile(const std::vector<std::string>& argv);
int cmd_worker(const std::vector<std::string>& argv);
int cmd_space(const std::vector<std::string>& argv);
int cmd_measure(const std::vector<std::string>& argv);

/// `--model FILE` among the words: the command works on a whole network (cmd_model.cpp).
bool wants_model(const std::vector<std::string>& argv);
int show_model(const std::vector<std::string>& argv);
int run_model(const std::vector<std::string>& argv);
int compile_model(const std::vector<std::string>& argv);
/// Writes every (path, bytes) or none: temporaries first, then renamed (cmd_compile.cpp).
void write_all(const std::vector<std::pair<std::string, std::string>>& files);
/// The model's distinct convolution and pooling workloads (each named after its first layer),
/// with how many layers run each.
std::vector<std::pair<Workload, int>> model_workloads(const std::string& path);

/// "231.2 M" style: a value with an SI prefix and 4 significant digits.
std::string si(double value);

} // namespace convtune::cli
