/// \file `convtune show`: what a layer is and the loop nest that computes it.
#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "compiler/cli/args.h"
#include "compiler/cli/commands.h"
#include "compiler/simplify.h"
#include "ir/ir_printer.h"
#include "ir/workload.h"
#include "compiler/compile.h"
#include "schedules/schedule_template.h"
#include "targets/roofline.h"

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
  if (wants_model(argv)) return show_model(argv);
  Args args("show", {options::workload(), options::weights(), options::sparsity(), options::sparsity_block(),
                     {"schedule", "S", "naive (the algorithm), default, or a schedule/config JSON file", "naive"},
                     options::target("the target whose roofline and vector width apply: cpu, an x86 CPU or cuda:sm_XX"),
                     options::threads("threads for the roofline bound"),
                     options::json()});
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune show --workload SPEC [--schedule S] [--json]");
    return 0;
  }
  Workload wl = selected_workload(args);
  const Target target = parse_target(args.get("target"));
  const int threads = int(args.get_int("threads", 1));
  const Schedule schedule = resolve_schedule(args.get("schedule"), wl, target);
  // The nest as it reaches code generation: scheduled, then simplified.
  LoopNest nest = simplify(scheduled_nest(wl, schedule));
  const std::string text = to_text(nest);
  // The space of the schedule's template, or of the template that fits (none for pooling and
  // epilogues so far).
  // The space shown is the schedule's template's; a hand schedule without one gets the template
  // that fits the workload only when it schedules that template's algorithm.
  const ScheduleTemplate* tpl = schedule.template_name.empty() ? find_template(wl, target) : &template_named(schedule.template_name);
  if (tpl && schedule.template_name.empty() && !schedule.steps.empty() && tpl->algorithm(wl, tpl->default_config(wl, target)) != schedule.algorithm) {
    tpl = nullptr;
  }
  const KnobSpace space = tpl ? tpl->space(wl, target) : KnobSpace{};
  // Every template that can schedule the layer here, with its space's size: what tune
  // --template and bench's template rows can choose from.
  std::vector<std::pair<std::string, uint64_t>> applicable;
  for (const auto& t : template_registry()) {
    if (t->applies(wl, target)) applicable.emplace_back(t->name(), t->space(wl, target).size());
  }
  const Roofline roof = roofline(target, threads);
  const double bound = roof.bound_gflops(wl.arithmetic_intensity());

  if (args.has("json")) {
    nlohmann::json j = {{"workload", wl},
                        {"key", wl.key()},
                        {"spec", wl.spec()},
                        {"output_shape", {wl.n, wl.k, wl.p(), wl.q()}},
                        {"flops", wl.flops()},
                        {"bytes", wl.bytes()},
                        {"arithmetic_intensity", wl.arithmetic_intensity()},
                        {"roofline", {{"bound_gflops", bound}, {"peak_gflops", roof.peak_gflops},
                                      {"bandwidth_gbs", roof.bandwidth_gbs}, {"threads", threads}}},
                        {"schedule", to_json(schedule)},
                        {"knob_space", tpl ? nlohmann::json(space) : nlohmann::json(nullptr)},
                        {"templates", nlohmann::json::array()},
                        {"nest", text}};
    for (const auto& [name, size] : applicable) j["templates"].push_back({{"name", name}, {"configs", size}});
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("workload      %s%s%s\n", wl.name.c_str(), wl.name.empty() ? "" : "  ", wl.spec().c_str());
  std::printf("key           %s\n", wl.key().c_str());
  std::printf("output        %lld x %lld x %lld x %lld (NKPQ)\n", (long long)wl.n, (long long)wl.k,
              (long long)wl.p(), (long long)wl.q());
  std::printf("flops         %sFLOP (%s)\n", si(wl.flops()).c_str(),
              wl.is_pool() ? "N*C*P*Q*R*S comparisons or additions" : "2*N*K*P*Q*C/groups*R*S");
  std::printf("bytes         %sB (input + weights + output, fp32)\n", si(wl.bytes()).c_str());
  std::printf("intensity     %.2f FLOP/byte\n", wl.arithmetic_intensity());
  if (roof.peak_gflops <= 0) {
    std::printf("roofline      %s\n", roof.source.c_str());
  } else {
    std::printf("roofline      %.1f GFLOP/s at %d thread%s (%s-bound; peak %.1f GFLOP/s, %.1f GB/s)\n", bound, threads,
                threads == 1 ? "" : "s", bound < roof.peak_gflops ? "memory" : "compute", roof.peak_gflops, roof.bandwidth_gbs);
  }
  if (tpl) {
    std::printf("knob space    %llu configs of template %s (", (unsigned long long)space.size(), space.template_name.c_str());
    for (size_t i = 0; i < space.knobs.size(); ++i) {
      std::printf("%s%s %s %zu", i ? ", " : "", space.knobs[i].name.c_str(), to_string(space.knobs[i].kind),
                  space.knobs[i].values.size());
    }
    std::printf(")\n");
  } else {
    if (schedule.template_name.empty() && !schedule.steps.empty()) {
      std::printf("knob space    none: the schedule names no template of its algorithm%s%s\n",
                  schedule.algorithm.empty() ? "" : " ", schedule.algorithm.c_str());
    } else {
      std::printf("knob space    none: no template schedules %s yet (it runs as its algorithm's naive nest)\n", wl.spec().c_str());
    }
  }
  if (!applicable.empty()) {
    std::printf("templates    ");
    for (size_t i = 0; i < applicable.size(); ++i) {
      std::printf("%s %s (%llu configs)", i ? "," : "", applicable[i].first.c_str(), (unsigned long long)applicable[i].second);
    }
    std::printf("\n");
  }
  if (!schedule.steps.empty()) std::printf("schedule      %zu steps%s%s\n", schedule.steps.size(),
                                           schedule.template_name.empty() ? "" : ", template ",
                                           schedule.template_name.c_str());
  std::printf("\n");
  std::cout << text;
  return 0;
}

} // namespace convtune::cli
