/// \file Benchmark suites (ResNet-18 C1-C12, MobileNet depthwise D2-D9): named lists of layers.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/workload.h"

namespace convtune {

/// The JSON text of each suite file, by suite name (generated at build time).
const std::vector<std::pair<std::string, std::string>>& builtin_suite_texts();

/// Names of the built-in suites, sorted.
std::vector<std::string> suite_names();

/// Every layer of a suite, in file order, each named "suite:LAYER".
/// Throws UserError naming the suite when it does not exist.
std::vector<Workload> suite_layers(const std::string& suite);

/// One layer: `suite_layer("resnet18", "C6")`. Throws UserError naming what is unknown.
Workload suite_layer(const std::string& suite, const std::string& layer);

} // namespace convtune
