/// \file `--model`: the commands over a whole network imported from ONNX (show, run).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "compiler/cli/args.h"
#include "compiler/cli/commands.h"
#include "compiler/cli/schedule_source.h"
#include "compiler/c_header.h"
#include "compiler/network_fusion.h"
#include "compiler/network_library.h"
#include "compiler/network_layouts.h"
#include "compiler/network_runner.h"
#include "compiler/onnx_import.h"
#include "ir/error.h"
#include "ir/npy.h"
#include "runtime/measure.h"
#include "runtime/network_reference.h"
#include "runtime/tensor.h"
#include "runtime/thread_pool.h"
#include "schedules/schedule_template.h"
#include "tuner/database.h"

namespace convtune::cli {

bool wants_model(const std::vector<std::string>& argv) {
  return std::find(argv.begin(), argv.end(), "--model") != argv.end();
}

Network load_model(const std::string& path) {
  Network net = import_onnx(path);
  fuse_layers(net);
  net.verify();
  return net;
}

std::vector<std::pair<Workload, int>> model_workloads(const std::string& path) {
  const Network net = load_model(path);
  std::vector<std::pair<Workload, int>> out;
  for (const NetLayer& l : net.layers) {
    if (!l.has_kernel()) continue;
    const auto same = std::find_if(out.begin(), out.end(), [&](const auto& w) { return w.first.key() == l.wl.key(); });
    if (same != out.end()) ++same->second;
    else out.push_back({l.wl, 1});
  }
  return out;
}

namespace {

OptionSpec model_option() { return {"model", "FILE", "an ONNX model (opset 11 to 17, f32, fixed input shape)", ""}; }

/// A network's output agrees with the reference within this, relative to its largest magnitude.
constexpr double kNetworkTolerance = 1e-3;

std::string mb(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f MB", double(bytes) / (1 << 20));
  return text;
}

std::string joined(const std::vector<std::string>& parts, const char* sep) {
  std::string text;
  for (const std::string& p : parts) text += (text.empty() ? "" : sep) + p;
  return text;
}

/// The ops of a layer's nodes: "Conv+BatchNormalization+Relu".
std::string node_ops(const NetLayer& l) {
  std::vector<std::string> ops;
  for (const std::string& n : l.nodes) ops.push_back(n.substr(0, n.find(' ')));
  return joined(ops, "+");
}

std::string layer_detail(const NetLayer& l) {
  switch (l.kind) {
  case LayerKind::Conv:
  case LayerKind::Pool: return l.wl.spec();
  case LayerKind::Elementwise: {
    std::string d;
    if (!l.scale.empty() || !l.shift.empty()) d += "affine ";
    if (l.binary != LayerBinary::None) d += l.binary == LayerBinary::Add ? "add " : "mul ";
    return d + l.activation.describe();
  }
  case LayerKind::ChannelShuffle: return "groups " + std::to_string(l.groups);
  case LayerKind::Slice: return "channels from " + std::to_string(l.slice_begin);
  case LayerKind::Pad:
    return "pads " + std::to_string(l.pad_top) + "," + std::to_string(l.pad_left) + "," + std::to_string(l.pad_bottom) + "," +
           std::to_string(l.pad_right);
  default: return "";
  }
}

/// A tensor's layout in words: the blocked one, or NCHW.
std::string layout_text(const std::optional<TensorLayout>& layout) { return layout ? layout->describe() : "NCHW"; }

nlohmann::json network_json(const Network& net, const WorkspacePlan& plan, const TensorLayouts& layouts) {
  nlohmann::json layers = nlohmann::json::array();
  for (const NetLayer& l : net.layers) {
    nlohmann::json inputs = nlohmann::json::array();
    for (int t : l.inputs) inputs.push_back(net.tensors[t].name);
    const bool kernel = l.has_kernel();
    layers.push_back({{"name", l.name}, {"kind", layer_kind_name(l.kind)}, {"nodes", l.nodes}, {"inputs", inputs},
                      {"output", net.tensors[l.output].name}, {"shape", net.tensors[l.output].shape},
                      {"workload", kernel ? nlohmann::json(l.wl.spec()) : nlohmann::json()},
                      {"key", kernel ? nlohmann::json(l.wl.key()) : nlohmann::json()}, {"detail", layer_detail(l)},
                      {"flops", l.flops(net.tensors)}});
  }
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorPlacement& p : plan.placements) {
    tensors.push_back({{"name", net.tensors[p.tensor].name}, {"offset", p.offset_bytes}, {"bytes", p.bytes},
                       {"first_layer", p.first_layer}, {"last_layer", p.last_layer},
                       {"layout", layout_text(layouts[size_t(p.tensor)])}});
  }
  return {{"input", {{"name", net.tensors[net.input].name}, {"shape", net.tensors[net.input].shape}}},
          {"output", {{"name", net.tensors[net.output].name}, {"shape", net.tensors[net.output].shape}}},
          {"layers", layers}, {"flops", net.flops()}, {"workspace_bytes", plan.workspace_bytes},
          {"intermediates_bytes", plan.sum_bytes}, {"peak_live_bytes", plan.peak_live_bytes}, {"tensors", tensors}};
}

/// Each layer's candidate schedules: the best config of each template the database holds for
/// its workload on this target and thread count (best first, at most three) and the runner-up
/// of the best template; for a workload the database lacks, the config its other layers
/// predict; then the template's default.
struct LayerSchedules {
  std::unique_ptr<Database> db;
  std::string slot;
  Target target;
  int threads;
  mutable std::map<std::string, std::optional<ChosenSchedule>> predicted;  ///< by workload key: a fit costs a second

  LayerSchedules(const std::string& db_path, const Target& t, int threads)
      : db(database_if_present(db_path)), slot(target_slot(t.key(), threads)), target(t), threads(threads) {}

  std::vector<ChosenSchedule> candidates(const Workload& wl) const {
    std::vector<const TrialRecord*> records;
    if (db) {
      for (const TrialRecord* r : db->find(wl.key(), slot)) {
        if (r->ok) records.push_back(r);
      }
    }
    std::stable_sort(records.begin(), records.end(), [](const TrialRecord* a, const TrialRecord* b) { return a->gflops > b->gflops; });
    std::vector<const TrialRecord*> picked;
    for (const TrialRecord* r : records) {  // each template's best
      const bool seen = std::any_of(picked.begin(), picked.end(), [&](const TrialRecord* p) { return p->template_name == r->template_name; });
      if (!seen && picked.size() < 3) picked.push_back(r);
    }
    for (const TrialRecord* r : records) {  // the best template's runner-up
      if (r != picked.front() && r->template_name == picked.front()->template_name) {
        picked.push_back(r);
        break;
      }
    }
    std::vector<ChosenSchedule> out;
    for (const TrialRecord* r : picked) {
      char text[64];
      std::snprintf(text, sizeof text, "tuned (%.1f GFLOP/s alone)", r->gflops);
      out.push_back({schedule_from_json(r->schedule), text, ScheduleOrigin::Tuned});
    }
    if (picked.empty() && db) {
      auto [it, fresh] = predicted.try_emplace(wl.key());
      if (fresh) it->second = predicted_schedule(*db, wl, target, threads);
      if (it->second) out.push_back(*it->second);
    }
    const Schedule fallback = resolve_schedule("default", wl, target);
    const bool listed = std::any_of(out.begin(), out.end(), [&](const ChosenSchedule& c) { return to_json(c.schedule) == to_json(fallback); });
    if (!listed) out.push_back({fallback, "default"});
    return out;
  }
  ScheduleCandidates candidates() const {
    return [this](const Workload& wl) { return candidates(wl); };
  }
};

/// The schedule each layer of the runner runs (an empty one for plain-loop layers).
std::vector<ChosenSchedule> chosen_schedules(const NetworkRunner& runner) {
  std::vector<ChosenSchedule> out(runner.network().layers.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (const ChosenSchedule* c = runner.chosen(i)) out[i] = *c;
  }
  return out;
}

/// How many kernel layers run a tuned config, a predicted one, and the default.
struct SourceCounts {
  int tuned = 0, predicted = 0, defaults = 0;
  int kernels() const { return tuned + predicted + defaults; }
  std::string text() const {
    return std::to_string(tuned) + " tuned, " + std::to_string(predicted) + " predicted, " + std::to_string(defaults) + " default";
  }
};
SourceCounts count_sources(const Network& net, const std::vector<ChosenSchedule>& per_layer) {
  SourceCounts n;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    if (!net.layers[i].has_kernel()) continue;
    const ScheduleOrigin o = per_layer[i].origin;
    (o == ScheduleOrigin::Tuned ? n.tuned : o == ScheduleOrigin::Predicted ? n.predicted : n.defaults)++;
  }
  return n;
}

OptionSpec select_option() {
  return {"select-runs", "N", "time each layer's candidates (the database's best configs and the default) inside the network, "
                              "N runs each, and keep the fastest; 0: the database's best alone", "5"};
}

size_t node_count(const Network& net) {
  size_t n = 0;
  for (const NetLayer& l : net.layers) n += l.nodes.size();
  return n;
}

} // namespace

int show_model(const std::vector<std::string>& argv) {
  Args args("show", {model_option(), options::json()});
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune show --model FILE [--json]");
    return 0;
  }
  const std::string path = args.require("model");
  const Network net = load_model(path);
  // Tensors between kernels kept blocked as run --model keeps them with the default configs
  // (a database's configs may pack otherwise).
  const Target target = host_target();
  const std::vector<KernelAbi> dense = dense_abis(net, [&](size_t i) { return resolve_schedule("default", net.layers[i].wl, target); });
  const TensorLayouts layouts = plan_layouts(net, dense);
  const WorkspacePlan plan = net.plan_workspace(storage_bytes(layouts));
  const int blocked = blocked_count(layouts);
  if (args.has("json")) {
    nlohmann::json j = network_json(net, plan, layouts);
    j["blocked_tensors"] = blocked;
    j["model"] = path;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("model      %s: %s %s -> %s, %zu layers from %zu nodes, %sFLOP\n", path.c_str(), net.tensors[net.input].name.c_str(),
              net.tensors[net.input].shape_text().c_str(), net.tensors[net.output].shape_text().c_str(), net.layers.size(),
              node_count(net), si(net.flops()).c_str());
  std::printf("\n%4s  %-28s %-15s %-16s %-34s %s\n", "#", "layer", "kind", "output", "nodes", "what");
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const NetLayer& l = net.layers[i];
    std::printf("%4zu  %-28s %-15s %-16s %-34s %s\n", i, l.name.c_str(), layer_kind_name(l.kind),
                net.tensors[l.output].shape_text().c_str(), node_ops(l).c_str(), layer_detail(l).c_str());
  }
  std::printf("\nworkspace  %s for %zu intermediate tensors (each apart: %s; most alive at once: %s); %d kept blocked between kernels "
              "(default configs on %s)\n", mb(plan.workspace_bytes).c_str(), plan.placements.size(), mb(plan.sum_bytes).c_str(),
              mb(plan.peak_live_bytes).c_str(), blocked, target.key().c_str());
  std::printf("%12s %12s  %-28s %-13s %s\n", "offset", "bytes", "tensor", "live (layers)", "layout");
  for (const TensorPlacement& p : plan.placements) {
    const std::string live = std::to_string(p.first_layer) + ".." + std::to_string(p.last_layer);
    std::printf("%12lld %12lld  %-28s %-13s %s\n", (long long)p.offset_bytes, (long long)p.bytes, net.tensors[p.tensor].name.c_str(),
                live.c_str(), layout_text(layouts[size_t(p.tensor)]).c_str());
  }
  return 0;
}

int run_model(const std::vector<std::string>& argv) {
  Args args("run", {model_option(), options::target(), options::threads("threads every layer may use"),
                    options::db("the tuning database whose best configs the layers run with (for a layer it lacks, the config its other layers predict; the default config without history)"),
                    {"input", "FILE", "the network's input as a .npy of f32 (its shape the model's input); random when absent", ""},
                    {"output", "FILE", "write the network's output here as a .npy of f32", ""},
                    select_option(), options::repeat("7"), options::min_repeat_ms("200"),
                    options::seed("seed of the random input"), options::json()});
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune run --model FILE [--threads T] [--db FILE] [--input x.npy] [--output y.npy] [--json]");
    return 0;
  }
  const std::string path = args.require("model");
  const Network net = load_model(path);
  const Target target = parse_target(args.get("target"));
  const int threads = int(args.get_int("threads", 1));
  const TimingOptions timing = timing_options(args);
  const NetTensor& in_t = net.tensors[net.input];
  const NetTensor& out_t = net.tensors[net.output];

  std::vector<float> input;
  if (args.has("input")) {
    const std::string file = args.get("input");
    const FloatArray a = read_float_file(file, "--input '" + file + "'");
    if (!a.npy) throw UserError("--input '" + file + "': not a .npy file");
    if (a.shape != in_t.shape) throw UserError("--input '" + file + "': its shape " + a.shape_text + " is not the model's input shape " + in_t.shape_text());
    input = a.values;
  } else {
    Tensor random(in_t.elements());
    random.fill_random(uint64_t(args.get_int("seed", 0)));
    input.assign(random.data(), random.data() + random.size());
  }

  const LayerSchedules schedules(args.get("db"), target, threads);
  const int select_runs = int(args.get_int("select-runs", 0));
  NetworkRunner runner(net, target, select_runs > 0 ? schedules.candidates() : ScheduleCandidates([&](const Workload& wl) {
    return std::vector<ChosenSchedule>{schedules.candidates(wl).front()};
  }));
  ScopedThreads scoped_threads{threads};
  const int switched = runner.select_fastest(input.data(), select_runs);
  const SourceCounts sources = count_sources(net, chosen_schedules(runner));

  // Checked layer by layer against the reference interpreter, before any timing.
  const std::vector<std::vector<double>> reference = reference_network(net, input);
  std::vector<float> output(size_t(out_t.elements()));
  std::vector<double> layer_err(net.layers.size(), 0.0);
  runner.run(input.data(), output.data(), [&](size_t i) { layer_err[i] = relative_error(runner.tensor(net.layers[i].output), reference[net.layers[i].output]); });
  const double output_err = relative_error(output.data(), reference[net.output]);
  const int intermediates = int(runner.plan().placements.size());
  const bool ok = output_err <= kNetworkTolerance;
  if (args.has("output")) {
    std::ofstream out(args.get("output"), std::ios::binary);
    const std::string bytes = npy_bytes(out_t.shape, output.data());
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out) throw UserError("--output '" + args.get("output") + "' cannot be written");
  }

  Timing total;
  std::vector<double> layer_ms(net.layers.size(), 0.0);
  if (ok) {
    total = measure([&] { runner.run(input.data(), output.data()); }, timing);
    // Per layer: the median over separate timed runs of the whole network.
    std::vector<std::vector<double>> samples(net.layers.size());
    for (int r = 0; r < std::max(timing.measurements, 5); ++r) {
      std::vector<double> ms;
      runner.run_timed(input.data(), output.data(), ms);
      for (size_t i = 0; i < ms.size(); ++i) samples[i].push_back(ms[i]);
    }
    for (size_t i = 0; i < samples.size(); ++i) {
      std::sort(samples[i].begin(), samples[i].end());
      layer_ms[i] = samples[i][samples[i].size() / 2];
    }
  }
  double layer_sum = 0;
  for (double ms : layer_ms) layer_sum += ms;

  if (args.has("json")) {
    nlohmann::json layers = nlohmann::json::array();
    for (size_t i = 0; i < net.layers.size(); ++i) {
      const NetLayer& l = net.layers[i];
      layers.push_back({{"name", l.name}, {"kind", layer_kind_name(l.kind)}, {"nodes", l.nodes}, {"median_ms", layer_ms[i]},
                        {"share", layer_sum > 0 ? layer_ms[i] / layer_sum : 0.0}, {"schedule", runner.schedules()[i]},
                        {"rel_err", layer_err[i]}, {"flops", l.flops(net.tensors)},
                        {"output_layout", layout_text(runner.layouts()[size_t(l.output)])}});
    }
    nlohmann::json j = {{"model", path}, {"ok", ok}, {"max_rel_err", output_err}, {"tolerance", kNetworkTolerance},
                        {"threads", threads}, {"target", target.key()}, {"median_ms", total.median_ms}, {"min_ms", total.min_ms},
                        {"flops", net.flops()}, {"gflops", ok ? net.flops() / (total.median_ms * 1e6) : 0.0},
                        {"tuned_layers", sources.tuned}, {"predicted_layers", sources.predicted}, {"default_layers", sources.defaults},
                        {"kernels", runner.kernels_compiled()},
                        {"selected_in_network", switched},
                        {"workspace_bytes", runner.workspace_bytes()}, {"packed_weights_bytes", runner.packed_weights_bytes()},
                        {"blocked_tensors", blocked_count(runner.layouts())}, {"intermediate_tensors", intermediates},
                        {"layers", layers}};
    std::cout << j.dump(2) << "\n";
    return ok ? 0 : 1;
  }
  std::printf("model      %s: %s -> %s, %zu layers, %sFLOP\n", path.c_str(), in_t.shape_text().c_str(), out_t.shape_text().c_str(),
              net.layers.size(), si(net.flops()).c_str());
  std::printf("schedules  %d layers with a kernel: %s (%d distinct kernels; %d layers switched from the database's best by timing in the network); target %s, %d thread%s\n",
              sources.kernels(), sources.text().c_str(), runner.kernels_compiled(), switched, target.key().c_str(), threads, threads == 1 ? "" : "s");
  std::printf("memory     workspace %s, packed weights %s\n", mb(runner.workspace_bytes()).c_str(), mb(runner.packed_weights_bytes()).c_str());
  std::printf("layouts    %d of %d intermediates kept in the blocked layout their readers pack to (the others dense NCHW)\n",
              blocked_count(runner.layouts()), intermediates);
  std::printf("check      %s (output's max error %.3g of its largest magnitude, bound %.0e; reference interpreter in double)\n",
              ok ? "ok" : "WRONG RESULT", output_err, kNetworkTolerance);
  if (!ok) {
    for (size_t i = 0; i < net.layers.size(); ++i) {
      if (layer_err[i] > kNetworkTolerance) {
        std::printf("           first layer off: #%zu %s (%s), error %.3g\n", i, net.layers[i].name.c_str(), node_ops(net.layers[i]).c_str(), layer_err[i]);
        break;
      }
    }
    return 1;
  }
  std::printf("time       median %.4g ms per inference (min %.4g), %.4g GFLOP/s\n\n", total.median_ms, total.min_ms,
              net.flops() / (total.median_ms * 1e6));
  std::printf("%4s  %-28s %-34s %10s %7s  %s\n", "#", "layer", "nodes", "ms", "share", "schedule");
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const NetLayer& l = net.layers[i];
    std::printf("%4zu  %-28s %-34s %10.4f %6.1f%%  %s\n", i, l.name.c_str(), node_ops(l).c_str(), layer_ms[i],
                layer_sum > 0 ? 100 * layer_ms[i] / layer_sum : 0.0, runner.schedules()[i].c_str());
  }
  return 0;
}

} // namespace convtune::cli

namespace convtune::cli {

int compile_model(const std::vector<std::string>& argv_in) {
  Args args("compile", {model_option(),
                        options::db("the tuning database whose best configs are compiled (for a layer it lacks, the config its other layers predict; the default config without history)"),
                        options::target("the target to compile for: cpu (this host), an x86-64 level or an x86 CPU LLVM knows; it need not be this host"),
                        options::threads("the thread count whose tuned configs are compiled"),
                        {"name", "NAME", "the library's name (a C identifier): libNAME.a, NAME.h, NAME.weights, entries NAME_init, NAME_run, ...", ""},
                        {"output", "DIR", "the folder to write into (also -o)", ""},
                        {"embed-weights", "", "put the weights in the library too (NAME_init(NULL) uses them)", ""},
                        select_option()});
  std::vector<std::string> argv;
  for (const std::string& a : argv_in) argv.push_back(a == "-o" ? "--output" : a);
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune compile --model FILE --name NAME -o DIR [--db FILE] [--target T] [--threads T] [--embed-weights]");
    return 0;
  }
  const std::string path = args.require("model");
  const std::string name = args.require("name");
  if (!is_c_identifier(name)) throw UserError("--name '" + name + "' is not a C identifier");
  const std::string dir = args.require("output");
  const Network net = load_model(path);
  const Target target = parse_target(args.get("target"));
  const int threads = int(args.get_int("threads", 1));
  const LayerSchedules schedules(args.get("db"), target, threads);
  // Where the target is this machine, each layer's candidates are timed in the network first.
  const int select_runs = target.key() == host_target().key() ? int(args.get_int("select-runs", 0)) : 0;
  std::vector<ChosenSchedule> per_layer(net.layers.size());
  int switched = 0;
  if (select_runs > 0) {
    NetworkRunner runner(net, target, schedules.candidates());
    ScopedThreads scoped_threads{threads};
    Tensor input(net.tensors[net.input].elements());
    input.fill_random(1);
    switched = runner.select_fastest(input.data(), select_runs);
    per_layer = chosen_schedules(runner);
  } else {
    for (size_t i = 0; i < net.layers.size(); ++i) {
      if (net.layers[i].has_kernel()) per_layer[i] = schedules.candidates(net.layers[i].wl).front();
    }
  }
  const SourceCounts sources = count_sources(net, per_layer);
  const NetworkLibrary lib = compile_network_library(net, name, target, per_layer, args.has("embed-weights"));
  std::filesystem::create_directories(dir);
  write_all({{dir + "/lib" + name + ".a", lib.archive},
             {dir + "/" + name + ".h", lib.header},
             {dir + "/" + name + ".weights", std::string(reinterpret_cast<const char*>(lib.weights.data()), 4 * lib.weights.size())}});
  std::printf("compiled %s (%zu layers; %d with a kernel: %s, %d switched by timing in the network; %d distinct kernels) for %s into %s/lib%s.a, %s.h, %s.weights (%zu floats%s)\n",
              path.c_str(), net.layers.size(), sources.kernels(), sources.text().c_str(), switched, lib.kernels, target.key().c_str(), dir.c_str(),
              name.c_str(), name.c_str(), name.c_str(), lib.weights.size(), args.has("embed-weights") ? ", also embedded" : "");
  return 0;
}

} // namespace convtune::cli
