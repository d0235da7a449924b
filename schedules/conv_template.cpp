/// \file The direct and depthwise NCHWc templates: their knobs, default configs and schedules.
#include "schedules/conv_template.h"

#include <algorithm>

namespace convtune {

namespace {

std::vector<int64_t> divisors_up_to(int64_t n, int64_t limit) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i <= std::min(n, limit); ++i) {
    if (n % i == 0) d.push_back(i);
  }
  return d;
}

/// The width block in [lo, hi] that wastes the fewest columns of the last tile; ties go to
/// the wider block (fewer tiles).
int64_t least_waste_block(int64_t extent, int64_t lo, int64_t hi) {
  hi = std::max<int64_t>(1, std::min(hi, extent));
  lo = std::max<int64_t>(1, std::min(lo, hi));
  int64_t best = hi, best_waste = -1;
  for (int64_t b = hi; b >= lo; --b) {
    int64_t waste = (extent + b - 1) / b * b - extent;
    if (best_waste < 0 || waste < best_waste) {
      best = b;
      best_waste = waste;
    }
  }
  return best;
}

int64_t get(const Config& c, const std::string& name) {
  auto it = c.find(name);
  if (it == c.end()) throw UserError("config: missing knob '" + name + "'");
  return it->second;
}

Step split(const std::string& loop, int64_t factor, const std::string& outer, const std::string& inner) {
  Step s;
  s.primitive = "split";
  s.loop = loop;
  s.factor = factor;
  s.outer = outer;
  s.inner = inner;
  return s;
}
Step on_loop(const char* primitive, const std::string& loop) {
  Step s;
  s.primitive = primitive;
  s.loop = loop;
  return s;
}
Step reorder(std::vector<std::string> loops) {
  Step s;
  s.primitive = "reorder";
  s.loops = std::move(loops);
  return s;
}
Step fuse(const std::string& outer, const std::string& inner, const std::string& fused) {
  Step s;
  s.primitive = "fuse";
  s.outer = outer;
  s.inner = inner;
  s.fused = fused;
  return s;
}
Step pack(const char* primitive, int64_t block, int64_t out_block = 0) {
  Step s;
  s.primitive = primitive;
  if (out_block) {
    s.in_block = block;
    s.out_block = out_block;
  } else {
    s.block = block;
  }
  return s;
}

/// Fuses the given outer loops (adjacent, outermost first) into one and makes it parallel.
void parallel_over(std::vector<Step>& steps, const std::vector<std::string>& loops) {
  std::string fused = loops.front();
  for (size_t i = 1; i < loops.size(); ++i) {
    std::string next = fused + "_" + loops[i];
    steps.push_back(fuse(fused, loops[i], next));
    fused = next;
  }
  steps.push_back(on_loop("parallel", fused));
}

} // namespace

uint64_t KnobSpace::size() const {
  uint64_t n = 1;
  for (const Knob& k : knobs) n *= k.values.size();
  return n;
}

Config KnobSpace::at(uint64_t index) const {
  Config c;
  for (auto it = knobs.rbegin(); it != knobs.rend(); ++it) {
    c[it->name] = it->values[index % it->values.size()];
    index /= it->values.size();
  }
  return c;
}

uint64_t KnobSpace::index_of(const Config& config) const {
  uint64_t index = 0;
  for (const Knob& k : knobs) {
    int64_t v = get(config, k.name);
    auto pos = std::find(k.values.begin(), k.values.end(), v);
    if (pos == k.values.end()) {
      throw UserError("config: knob '" + k.name + "' = " + std::to_string(v) + " is not in the " + template_name + " space");
    }
    index = index * k.values.size() + uint64_t(pos - k.values.begin());
  }
  for (const auto& [name, value] : config) {
    bool known = false;
    for (const Knob& k : knobs) known = known || k.name == name;
    if (!known) throw UserError("config: unknown knob '" + name + "' for template " + template_name);
  }
  return index;
}

std::string template_for(const Workload& wl) { return wl.c_per_group() == 1 && wl.groups > 1 ? "depthwise_nchwc" : "direct_nchwc"; }

KnobSpace knob_space(const Workload& wl, const Target& target) {
  const int64_t lanes = target.vector_lanes();
  KnobSpace space;
  space.template_name = template_for(wl);
  std::vector<int64_t> ow;
  for (int64_t b = 1; b <= std::min<int64_t>(wl.q(), 28); ++b) ow.push_back(b);
  std::vector<int64_t> oh = {1};
  if (wl.p() >= 2) oh.push_back(2);
  if (space.template_name == "depthwise_nchwc") {
    space.knobs = {
        {"ch_bn", {lanes, 2 * lanes}, "channels per vector block"},
        {"ow_bn", ow, "output columns in the register tile"},
        {"oh_bn", oh, "output rows in the register tile"},
        {"unroll_kw", {0, 1}, "unroll the kernel-width loop"},
        {"parallel", {0, 1}, "parallel loop: 0 = batch, channel blocks and row blocks fused; 1 = batch and channel blocks"},
    };
    return space;
  }
  std::vector<int64_t> oc;
  const int64_t kg = wl.k_per_group();
  for (int64_t m = 1; m <= 4; ++m) {
    if (m == 1 || (m - 1) * lanes < kg) oc.push_back(m * lanes);
  }
  space.knobs = {
      {"oc_bn", oc, "output channels in the register tile (vector multiples)"},
      {"ic_bn", divisors_up_to(wl.c_per_group(), 64), "input channels per packed block"},
      {"ow_bn", ow, "output columns in the register tile"},
      {"oh_bn", oh, "output rows in the register tile"},
      {"order", {0, 1}, "reduction order: 0 = c-block, r, s, c; 1 = r, s, c-block, c"},
      {"unroll_kw", {0, 1}, "unroll the kernel-width loop"},
      {"parallel", {0, 1}, "parallel loop: 0 = batch, groups, channel blocks and row blocks fused; 1 = without row blocks"},
  };
  return space;
}

Config default_config(const Workload& wl, const Target& target) {
  const int64_t lanes = target.vector_lanes();
  const int regs = target.vector_registers;
  if (template_for(wl) == "depthwise_nchwc") {
    // Each tile column holds one accumulator; keep a few registers for inputs and weights.
    const int64_t ow = least_waste_block(wl.q(), (regs - 4) / 2, regs - 4);
    return {{"ch_bn", lanes}, {"ow_bn", ow}, {"oh_bn", 1}, {"unroll_kw", 1}, {"parallel", 0}};
  }
  const int64_t kg = wl.k_per_group();
  const int64_t vecs = kg > lanes ? 2 : 1;
  // Accumulators: ow * vecs; plus vecs weight vectors and one broadcast in flight.
  const int64_t ow_max = (regs - vecs - 1) / vecs;
  const int64_t ow = least_waste_block(wl.q(), (ow_max + 1) / 2, ow_max);
  // The largest divisor of the group's channels up to 16 keeps the packed block short enough
  // for its weights to stay in L1 across the tile.
  std::vector<int64_t> ic = divisors_up_to(wl.c_per_group(), 16);
  return {{"oc_bn", vecs * lanes}, {"ic_bn", ic.back()}, {"ow_bn", ow}, {"oh_bn", 1}, {"order", 0}, {"unroll_kw", 0},
          {"parallel", 0}};
}

Schedule make_schedule(const Workload& wl, const Target& target, const Config& config) {
  return make_schedule(wl, knob_space(wl, target), config);
}

Schedule make_schedule(const Workload& wl, const KnobSpace& space, const Config& config) {
  space.index_of(config);  // refuses values outside the space, naming the knob
  Schedule sch;
  sch.template_name = space.template_name;
  sch.config = config_to_json(config);
  std::vector<Step>& st = sch.steps;
  const int64_t ow = get(config, "ow_bn"), oh = get(config, "oh_bn"), unroll_kw = get(config, "unroll_kw");
  // The row blocks stay serial inside each thread's share when `parallel` is 1.
  const bool rows_parallel = get(config, "parallel") == 0;

  if (space.template_name == "depthwise_nchwc") {
    const int64_t ch = get(config, "ch_bn");
    st.push_back(pack("pack_input", ch));
    st.push_back(pack("pack_weights", 1, ch));
    st.push_back(pack("pack_output", ch));
    st.push_back(split("g", ch, "go", "gi"));
    st.push_back(split("q", ow, "qo", "qi"));
    st.push_back(split("p", oh, "po", "pi"));
    st.push_back(reorder({"n", "go", "k", "po", "qo", "c", "r", "s", "pi", "qi", "gi"}));
    st.push_back(on_loop("cache_write", "qo"));
    st.push_back(on_loop("vectorize", "gi"));
    st.push_back(on_loop("unroll", "qi"));
    st.push_back(on_loop("unroll", "pi"));
    if (unroll_kw) st.push_back(on_loop("unroll", "s"));
    parallel_over(st, rows_parallel ? std::vector<std::string>{"n", "go", "k", "po"} : std::vector<std::string>{"n", "go", "k"});
    return sch;
  }

  const int64_t oc = get(config, "oc_bn"), ic = get(config, "ic_bn"), order = get(config, "order");
  const bool grouped = wl.groups > 1;
  st.push_back(pack("pack_input", ic));
  st.push_back(pack("pack_weights", ic, oc));
  st.push_back(pack("pack_output", oc));
  st.push_back(split("k", oc, "ko", "ki"));
  st.push_back(split("c", ic, "co", "ci"));
  st.push_back(split("q", ow, "qo", "qi"));
  st.push_back(split("p", oh, "po", "pi"));
  std::vector<std::string> loops = {"n"};
  if (grouped) loops.push_back("g");
  for (const char* l : {"ko", "po", "qo"}) loops.push_back(l);
  std::vector<std::string> reduction = order == 0 ? std::vector<std::string>{"co", "r", "s", "ci"}
                                                  : std::vector<std::string>{"r", "s", "co", "ci"};
  loops.insert(loops.end(), reduction.begin(), reduction.end());
  for (const char* l : {"pi", "qi", "ki"}) loops.push_back(l);
  st.push_back(reorder(loops));
  st.push_back(on_loop("cache_write", "qo"));
  st.push_back(on_loop("vectorize", "ki"));
  st.push_back(on_loop("unroll", "qi"));
  st.push_back(on_loop("unroll", "pi"));
  if (unroll_kw) st.push_back(on_loop("unroll", "s"));
  std::vector<std::string> par = {"n"};
  if (grouped) par.push_back("g");
  par.push_back("ko");
  if (rows_parallel) par.push_back("po");
  parallel_over(st, par);
  return sch;
}

nlohmann::json config_to_json(const Config& config) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : config) j[k] = v;
  return j;
}

Config config_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw UserError("config: expected a JSON object of knob values");
  Config c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer()) throw UserError("config: knob '" + it.key() + "' must be an integer");
    c[it.key()] = it.value().get<int64_t>();
  }
  return c;
}

} // namespace convtune

namespace convtune {

Schedule resolve_schedule(const std::string& what, const Workload& wl, const Target& target) {
  if (what == "default") return make_schedule(wl, target, default_config(wl, target));
  if (what == "naive") return Schedule{};
  nlohmann::json j = read_json_file(what, "schedule");
  if (j.is_object() && j.contains("steps")) return schedule_from_json(j);
  if (j.is_object() && j.contains("config")) return make_schedule(wl, target, config_from_json(j["config"]));
  return make_schedule(wl, target, config_from_json(j));
}

} // namespace convtune
