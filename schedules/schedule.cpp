/// \file Schedule JSON round-trip and replay.
#include "schedules/schedule.h"

#include "ir/algorithms.h"
#include "schedules/stage_placement.h"

#include <algorithm>
#include <map>

namespace convtune {

namespace {

/// The fields each primitive takes, in JSON.
const std::map<std::string, std::vector<std::string>>& primitive_fields() {
  static const std::map<std::string, std::vector<std::string>> fields = {
      {"split", {"loop", "factor", "outer", "inner"}},
      {"reorder", {"loops"}},
      {"fuse", {"outer", "inner", "fused"}},
      {"unroll", {"loop"}},
      {"vectorize", {"loop"}},
      {"parallel", {"loop"}},
      {"cache_write", {"loop"}},
      {"bind", {"loop", "to"}},
      {"pack_input", {"block"}},
      {"pack_weights", {"in_block", "out_block"}},
      {"pack_output", {"block"}},
      {"compute_at", {"consumer", "loop", "storage"}},
      {"compute_inline", {}},
  };
  return fields;
}

} // namespace

bool Step::operator==(const Step& o) const {
  return primitive == o.primitive && stage == o.stage && loop == o.loop && outer == o.outer && inner == o.inner &&
         fused == o.fused && to == o.to && consumer == o.consumer && storage == o.storage &&
         loops == o.loops && factor == o.factor && block == o.block && in_block == o.in_block && out_block == o.out_block;
}

Step Step::split(const std::string& loop, int64_t factor, const std::string& outer, const std::string& inner) {
  return {.primitive = "split", .loop = loop, .outer = outer, .inner = inner, .factor = factor};
}
Step Step::reorder(std::vector<std::string> loops) { return {.primitive = "reorder", .loops = std::move(loops)}; }
Step Step::fuse(const std::string& outer, const std::string& inner, const std::string& fused) {
  return {.primitive = "fuse", .outer = outer, .inner = inner, .fused = fused};
}
Step Step::on_loop(const char* primitive, const std::string& loop) { return {.primitive = primitive, .loop = loop}; }
Step Step::pack_input(int64_t block) { return {.primitive = "pack_input", .block = block}; }
Step Step::pack_weights(int64_t in_block, int64_t out_block) {
  return {.primitive = "pack_weights", .in_block = in_block, .out_block = out_block};
}
Step Step::pack_output(int64_t block) { return {.primitive = "pack_output", .block = block}; }
Step Step::bind(const std::string& loop, const std::string& gpu_index) {
  return {.primitive = "bind", .loop = loop, .to = gpu_index};
}
Step Step::compute_at(const std::string& stage, const std::string& consumer, const std::string& loop,
                      const std::string& storage) {
  return {.primitive = "compute_at", .loop = loop, .stage = stage, .consumer = consumer, .storage = storage};
}
Step Step::compute_inline(const std::string& stage) { return {.primitive = "compute_inline", .stage = stage}; }

nlohmann::json to_json(const Step& s) {
  nlohmann::json j = {{"step", s.primitive}};
  if (!s.stage.empty()) j["stage"] = s.stage;
  for (const std::string& f : primitive_fields().at(s.primitive)) {
    if (f == "loop") j[f] = s.loop;
    if (f == "outer") j[f] = s.outer;
    if (f == "inner") j[f] = s.inner;
    if (f == "fused") j[f] = s.fused;
    if (f == "to") j[f] = s.to;
    if (f == "consumer") j[f] = s.consumer;
    if (f == "storage") j[f] = s.storage;
    if (f == "loops") j[f] = s.loops;
    if (f == "factor") j[f] = s.factor;
    if (f == "block") j[f] = s.block;
    if (f == "in_block") j[f] = s.in_block;
    if (f == "out_block") j[f] = s.out_block;
  }
  return j;
}

nlohmann::json to_json(const Schedule& schedule) {
  nlohmann::json steps = nlohmann::json::array();
  for (const Step& s : schedule.steps) steps.push_back(to_json(s));
  nlohmann::json j = {{"steps", steps}};
  if (!schedule.template_name.empty()) j["template"] = schedule.template_name;
  if (!schedule.config.is_null()) j["config"] = schedule.config;
  if (!schedule.algorithm.empty()) j["algorithm"] = schedule.algorithm;
  return j;
}

Schedule schedule_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw ScheduleError("schedule: expected a JSON object with 'steps'");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "steps" && it.key() != "template" && it.key() != "config" && it.key() != "algorithm") {
      throw ScheduleError("schedule: unknown field '" + it.key() + "'");
    }
  }
  if (!j.contains("steps") || !j["steps"].is_array()) throw ScheduleError("schedule: missing array 'steps'");
  Schedule schedule;
  if (j.contains("template")) {
    if (!j["template"].is_string()) throw ScheduleError("schedule: field 'template' must be a string");
    schedule.template_name = j["template"].get<std::string>();
  }
  if (j.contains("config")) schedule.config = j["config"];
  if (j.contains("algorithm")) {
    if (!j["algorithm"].is_string()) throw ScheduleError("schedule: field 'algorithm' must be a string");
    schedule.algorithm = j["algorithm"].get<std::string>();
  }
  int number = 0;
  for (const nlohmann::json& js : j["steps"]) {
    ++number;
    const std::string where = "schedule step " + std::to_string(number);
    if (!js.is_object() || !js.contains("step") || !js["step"].is_string()) {
      throw ScheduleError(where + ": expected an object with a string field 'step'");
    }
    Step s;
    s.primitive = js["step"].get<std::string>();
    auto fields = primitive_fields().find(s.primitive);
    if (fields == primitive_fields().end()) throw ScheduleError(where + ": unknown primitive '" + s.primitive + "'");
    for (auto it = js.begin(); it != js.end(); ++it) {
      const auto& allowed = fields->second;
      if (it.key() != "step" && it.key() != "stage" && std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
        throw ScheduleError(where + " (" + s.primitive + "): unknown field '" + it.key() + "'");
      }
    }
    if (js.contains("stage")) {
      if (!js["stage"].is_string()) throw ScheduleError(where + " (" + s.primitive + "): field 'stage' must be a string");
      s.stage = js["stage"].get<std::string>();
    } else if (s.primitive == "compute_at" || s.primitive == "compute_inline") {
      throw ScheduleError(where + " (" + s.primitive + "): missing field 'stage'");
    }
    for (const std::string& f : fields->second) {
      if (!js.contains(f)) throw ScheduleError(where + " (" + s.primitive + "): missing field '" + f + "'");
      const nlohmann::json& v = js[f];
      const bool is_int_field = f == "factor" || f == "block" || f == "in_block" || f == "out_block";
      if (is_int_field && !v.is_number_integer()) throw ScheduleError(where + " (" + s.primitive + "): field '" + f + "' must be an integer");
      if (f == "loops") {
        if (!v.is_array()) throw ScheduleError(where + " (" + s.primitive + "): field 'loops' must be an array of names");
        for (const auto& name : v) {
          if (!name.is_string()) throw ScheduleError(where + " (" + s.primitive + "): field 'loops' must be an array of names");
          s.loops.push_back(name.get<std::string>());
        }
        continue;
      }
      if (!is_int_field && !v.is_string()) throw ScheduleError(where + " (" + s.primitive + "): field '" + f + "' must be a string");
      if (f == "loop") s.loop = v.get<std::string>();
      if (f == "outer") s.outer = v.get<std::string>();
      if (f == "inner") s.inner = v.get<std::string>();
      if (f == "fused") s.fused = v.get<std::string>();
      if (f == "to") s.to = v.get<std::string>();
      if (f == "consumer") s.consumer = v.get<std::string>();
      if (f == "storage") s.storage = v.get<std::string>();
      if (f == "factor") s.factor = v.get<int64_t>();
      if (f == "block") s.block = v.get<int64_t>();
      if (f == "in_block") s.in_block = v.get<int64_t>();
      if (f == "out_block") s.out_block = v.get<int64_t>();
    }
    schedule.steps.push_back(s);
  }
  return schedule;
}

ScheduleState* StageStates::find(const std::string& stage) {
  for (ScheduleState& st : states) {
    if (st.stage().name == stage) return &st;
  }
  return nullptr;
}

const ScheduleState* StageStates::find(const std::string& stage) const { return const_cast<StageStates*>(this)->find(stage); }

StagePlacement StageStates::placement(const std::string& stage) const {
  auto it = placements.find(stage);
  return it == placements.end() ? StagePlacement{} : it->second;
}

StageStates StageStates::of_main(const ScheduleState& main) {
  StageStates states;
  states.algorithm = main.algorithm();
  states.states.push_back(main);
  return states;
}

Algorithm schedule_algorithm(const Workload& wl, const Schedule& schedule, const ParamLayouts& layouts) {
  Algorithm alg = algorithm_named(schedule.algorithm, wl);
  if (!layouts.output) return alg;
  std::vector<std::string> scheduled;
  for (const Step& s : schedule.steps) {
    if (s.primitive == "compute_inline") continue;
    scheduled.push_back(s.stage.empty() ? alg.main_stage : s.stage);
  }
  return with_output_layout(alg, *layouts.output, scheduled);
}

StageStates apply_schedule_stages(const Workload& wl, const Schedule& schedule) {
  return apply_schedule_stages(schedule_algorithm(wl, schedule), schedule);
}

StageStates apply_schedule_stages(const Algorithm& algorithm, const Schedule& schedule) {
  StageStates out;
  out.algorithm = algorithm;
  out.states.emplace_back(out.algorithm, out.algorithm.main_stage);
  int number = 0;
  for (const Step& s : schedule.steps) {
    ++number;
    const std::string where = "schedule step " + std::to_string(number) + ": ";
    try {
      if (s.primitive == "compute_at") {
        compute_at(out, s.stage, s.consumer, s.loop, s.storage, number);
        continue;
      }
      if (s.primitive == "compute_inline") {
        compute_inline(out, s.stage);
        continue;
      }
      const std::string stage = s.stage.empty() ? out.algorithm.main_stage : s.stage;
      ScheduleState* st = out.find(stage);
      if (!st) {
        require_stage(out, stage);
        require_own_loops(out, stage);
        st = &out.states.emplace_back(out.algorithm, stage);
      }
      if (s.primitive == "split") st->split(s.loop, s.factor, s.outer, s.inner);
      else if (s.primitive == "reorder") st->reorder(s.loops);
      else if (s.primitive == "fuse") st->fuse(s.outer, s.inner, s.fused);
      else if (s.primitive == "unroll") st->unroll(s.loop);
      else if (s.primitive == "vectorize") st->vectorize(s.loop);
      else if (s.primitive == "parallel") st->parallel(s.loop);
      else if (s.primitive == "cache_write") st->cache_write(s.loop);
      else if (s.primitive == "bind") st->bind(s.loop, s.to);
      else if (s.primitive == "pack_input") st->pack_input(s.block);
      else if (s.primitive == "pack_weights") st->pack_weights(s.in_block, s.out_block);
      else if (s.primitive == "pack_output") st->pack_output(s.block);
      else throw ScheduleError("unknown primitive '" + s.primitive + "'");
    } catch (const ScheduleError& e) {
      throw ScheduleError(where + e.what());
    }
  }
  check_placements(out);
  return out;
}

ScheduleState apply_schedule(const Workload& wl, const Schedule& schedule) {
  return apply_schedule_stages(wl, schedule).main();
}

} // namespace convtune

#include <fstream>
#include <sstream>

#include "ir/algorithms.h"

namespace convtune {

nlohmann::json read_json_file(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) throw UserError(std::string(what) + " file '" + path + "' cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw UserError(std::string(what) + " file '" + path + "' is not valid JSON (byte " + std::to_string(e.byte) + ")");
  }
}

} // namespace convtune
