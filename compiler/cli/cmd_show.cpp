/// \file `convtune show`: what a layer is and the loop nest that computes it.
#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "compiler/cli/args.h"
#include "compiler/cli/commands.h"
#include "ir/conv_builder.h"
#include "ir/ir_printer.h"
#include "ir/workload.h"

namespace convtune::cli {

std::string si(double value) {
  const char* prefixes[] = {"", "k", "M", "G", "T", "P"};
  int i = 0;
  while (std::fabs(value) >= 1000 && i < 5) {
    value /= 1000;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g %s", value, prefixes[i]);
  return buf;
}

int cmd_show(const std::vector<std::string>& argv) {
  Args args("show", {{"workload", "SPEC", "the layer (suite:LAYER, key=value list or benchdnn descriptor)", ""},
                     {"json", "", "print one JSON object", ""}});
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune show --workload SPEC [--json]");
    return 0;
  }
  Workload wl = parse_workload(args.require("workload"));
  LoopNest nest = build_conv_nest(wl);
  const std::string text = to_text(nest);

  if (args.has("json")) {
    nlohmann::json j = {{"workload", wl},
                        {"key", wl.key()},
                        {"spec", wl.spec()},
                        {"output_shape", {wl.n, wl.k, wl.p(), wl.q()}},
                        {"flops", wl.flops()},
                        {"bytes", wl.bytes()},
                        {"arithmetic_intensity", wl.arithmetic_intensity()},
                        {"nest", text}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("workload      %s%s%s\n", wl.name.c_str(), wl.name.empty() ? "" : "  ", wl.spec().c_str());
  std::printf("key           %s\n", wl.key().c_str());
  std::printf("output        %lld x %lld x %lld x %lld (NKPQ)\n", (long long)wl.n, (long long)wl.k,
              (long long)wl.p(), (long long)wl.q());
  std::printf("flops         %sFLOP (2*N*K*P*Q*C/groups*R*S)\n", si(wl.flops()).c_str());
  std::printf("bytes         %sB (input + weights + output, fp32)\n", si(wl.bytes()).c_str());
  std::printf("intensity     %.2f FLOP/byte\n\n", wl.arithmetic_intensity());
  std::cout << text;
  return 0;
}

} // namespace convtune::cli
