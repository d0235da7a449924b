/// \file `convtune compile`: a layer ahead of time into an object file (or its assembly or LLVM
/// IR) and a C header, or for a GPU into PTX and a JSON file of its launches, with the best
/// config the tuning database holds for it.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "compiler/c_header.h"
#include "compiler/cli/args.h"
#include "compiler/cli/commands.h"
#include "compiler/cli/schedule_source.h"
#include "ir/sparse.h"
#include "compiler/compile.h"
#include "ir/error.h"
#include "ir/workload.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"
#include "tuner/database.h"

namespace convtune::cli {

/// Writes every file or none: each goes to a temporary next to it first, then all are renamed.
void write_all(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::string> temporaries, done;
  const auto cleanup = [&] {
    for (const std::string& t : temporaries) std::filesystem::remove(t);
    for (const std::string& d : done) std::filesystem::remove(d);
  };
  for (const auto& [path, bytes] : files) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    std::ofstream out(tmp, std::ios::binary);
    if (out) temporaries.push_back(tmp);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) {
      cleanup();
      throw UserError("cannot write '" + path + "'");
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    std::error_code ec;
    std::filesystem::rename(temporaries[i], files[i].first, ec);
    if (ec) {
      cleanup();
      throw UserError("cannot write '" + files[i].first + "': " + ec.message());
    }
    done.push_back(files[i].first);
  }
}

namespace {

/// How a schedule taken from the database is described (header, manifest, output).
/// The kernel name of a workload in a library: its database key, any character that is not a
/// letter, digit or '_' written as '_'.
std::string name_for_key(const std::string& key) {
  std::string n = key;
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) n = "k_" + n;
  return n;
}

/// `compile --all`: every workload tuned for `slot` in `db_path` into DIR/libconvtune_layers.a,
/// DIR/convtune_layers.h and DIR/convtune_layers.json.
int compile_all(const std::string& db_path, const Target& target, int threads, const std::string& dir) {
  if (!std::ifstream(db_path)) throw UserError("--all: tuning database '" + db_path + "' cannot be read");
  Database db(db_path);
  db.load(std::cerr);
  const std::string slot = target_slot(target.key(), threads);
  std::vector<std::string> keys;
  for (const TrialRecord& r : db.records()) {
    if (r.ok && r.target_slot() == slot && std::find(keys.begin(), keys.end(), r.workload_key) == keys.end()) keys.push_back(r.workload_key);
  }
  if (keys.empty()) throw UserError("--all: no tuned workload for " + slot + " in '" + db_path + "'");
  std::vector<std::pair<std::string, std::string>> objects;
  std::vector<HeaderKernel> kernels;
  nlohmann::json manifest = nlohmann::json::array();
  for (const std::string& key : keys) {
    const TrialRecord* best = db.best(key, slot);
    Workload wl;
    from_json(best->workload, wl);
    // Given weights must still have the pattern the record was tuned for (a file may have
    // changed since): a kernel is never compiled under a key that no longer describes it.
    if (wl.weights.given()) sparse_pattern_of(wl);
    const std::string name = name_for_key(key);
    const Schedule schedule = schedule_from_json(best->schedule);
    const CompiledArtifact artifact = compile_artifact(scheduled_nest(wl, schedule, name), target, EmitKind::Object);
    objects.push_back({name + ".o", artifact.bytes});
    kernels.push_back({artifact.abi, {wl.spec(), key, target.key(),
                                      best->template_name + " " + best->config.dump() + ", " + tuned_description(*best)}});
    manifest.push_back({{"name", name}, {"workload", wl.spec()}, {"key", key}, {"template", best->template_name},
                        {"config", best->config}, {"gflops", best->gflops}, {"threads", threads}, {"target", target.key()}});
  }
  std::filesystem::create_directories(dir);
  write_all({{dir + "/libconvtune_layers.a", compile_library(objects)},
             {dir + "/convtune_layers.h", c_header(kernels, "layers")},
             {dir + "/convtune_layers.json", manifest.dump(2) + "\n"}});
  std::printf("compiled %zu workloads tuned for %s into %s/libconvtune_layers.a, convtune_layers.h, convtune_layers.json\n",
              keys.size(), slot.c_str(), dir.c_str());
  return 0;
}

/// What --emit names for `target` (empty: obj for a CPU, ptx for a GPU).
EmitKind emit_kind(std::string s, const Target& target) {
  const bool gpu = target.kind == TargetKind::Cuda;
  if (s.empty()) s = gpu ? "ptx" : "obj";
  if (s == "ptx" && !gpu) throw UserError("--emit ptx needs a CUDA target (--target cuda:sm_XX); '" + target.name + "' is a CPU");
  if (s == "obj" && gpu) throw UserError("--emit obj: target '" + target.name + "' compiles to PTX (--emit ptx)");
  if (s == "obj") return EmitKind::Object;
  if (s == "asm" || s == "ptx") return EmitKind::Assembly;
  if (s == "llvm") return EmitKind::LlvmIr;
  throw UserError("--emit '" + s + "' is not one of obj, asm, llvm, ptx");
}

/// The side file of a PTX kernel: what a host program needs to launch it (each stage's kernel,
/// grid, block and shared memory; the buffer table the kernels take).
std::string launch_json(const KernelAbi& abi, const Workload& wl, const Target& target, const std::string& described) {
  nlohmann::json kernels = nlohmann::json::array();
  for (size_t i = 0; i < abi.stages.size(); ++i) {
    const AbiStage& s = abi.stages[i];
    kernels.push_back({{"kernel", gpu_kernel_name(abi.name, i)}, {"stage", s.name}, {"grid", {s.grid[0], s.grid[1], s.grid[2]}},
                       {"block", {s.block[0], s.block[1], s.block[2]}}, {"shared_bytes", s.shared_bytes}});
  }
  nlohmann::json args = nlohmann::json::array();
  for (const AbiParam& p : abi.params) args.push_back({{"name", p.name}, {"kind", "parameter"}, {"shape", p.shape}, {"layout", p.layout}});
  for (const AbiTemporary& t : abi.temporaries) {
    args.push_back({{"name", t.name}, {"kind", "workspace"}, {"shape", t.shape}, {"offset_bytes", t.offset_bytes}});
  }
  const nlohmann::json j = {{"workload", wl.spec()}, {"target", target.key()}, {"schedule", described},
                            {"launches", kernels}, {"arguments", args}, {"workspace_bytes", abi.workspace_bytes},
                            {"pointer_align_bytes", KernelAbi::kGpuBufferAlign},
                            {"note", "launch the kernels in order on one stream; each takes one pointer per argument, in order "
                                     "(fp32, dense row-major, each pointer a multiple of pointer_align_bytes; workspace ones "
                                     "at their offset in one device allocation)"}};
  return j.dump(2) + "\n";
}

} // namespace

int cmd_compile(const std::vector<std::string>& argv_in) {
  if (wants_model(argv_in)) return compile_model(argv_in);
  Args args("compile", {options::workload(), options::weights(), options::sparsity(), options::sparsity_block(),
                        options::db("the tuning database whose best config is compiled"),
                        options::target("the target to compile for: cpu (this host), an x86-64 level (x86-64-v3, x86-64-v4), "
                                        "an x86 CPU LLVM knows (znver4, skylake-avx512, ...) or cuda:sm_XX; it need not be this host"),
                        options::threads("the thread count whose tuned config is compiled"),
                        {"name", "NAME", "the kernel's symbol (a C identifier); its entries are NAME, NAME_run, ...", ""},
                        {"output", "FILE", "the file to write (also -o)", ""},
                        {"header", "FILE", "the C header to write next to it", ""},
                        {"emit", "KIND", "obj (an ELF object), asm (its assembly) or llvm (its LLVM IR); for a CUDA target ptx "
                                         "(the default there) with FILE.json beside it: each kernel's launch and the arguments", ""},
                        {"schedule", "S", "a template's default config, a template name, or a schedule/config JSON file, instead of the database's best", ""},
                        {"all", "", "every workload the database holds a tuned config for (this target and thread count) into -o DIR: "
                                    "libconvtune_layers.a, convtune_layers.h and convtune_layers.json (a manifest); each kernel is "
                                    "named after its workload's key", ""}});
  // `-o FILE` as compilers spell it.
  std::vector<std::string> argv;
  for (const std::string& a : argv_in) argv.push_back(a == "-o" ? "--output" : a);
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune compile --workload SPEC --name NAME -o OUT.o [--header OUT.h] [--db FILE] "
                           "[--target T] [--threads T] [--emit obj|asm|llvm|ptx] [--schedule S]\n"
                           "       convtune compile --all --db FILE -o DIR [--target T] [--threads T]");
    return 0;
  }
  const Target target = parse_target(args.get("target"));
  const int64_t threads = args.get_int("threads", 1);
  if (args.has("all")) {
    for (const char* single : {"workload", "name", "header", "schedule"}) {
      if (args.has(single)) throw UserError(std::string("--all compiles every tuned workload; --") + single + " is for one");
    }
    if (target.kind == TargetKind::Cuda) throw UserError("--all builds a static library of CPU objects; target '" + target.name + "' is a GPU");
    return compile_all(args.get("db"), target, int(threads), args.require("output"));
  }
  const Workload wl = selected_workload(args);
  const std::string name = args.require("name");
  if (!is_c_identifier(name)) throw UserError("--name '" + name + "' is not a C identifier");
  const std::string output = args.require("output");
  const EmitKind kind = emit_kind(args.get("emit"), target);
  const bool ptx = target.kind == TargetKind::Cuda && kind == EmitKind::Assembly;
  if (target.kind == TargetKind::Cuda && args.has("header")) {
    throw UserError("--header: a C header declares CPU entries; a CUDA kernel's launches are written to " + output + ".json");
  }

  // The schedule: named on the command line, else the database's best, else the config its
  // other layers predict, else the default.
  Schedule schedule;
  std::string chosen;
  if (args.has("schedule")) {
    schedule = resolve_schedule(args.get("schedule"), wl, target);
    chosen = "given: " + args.get("schedule");
  } else {
    const std::unique_ptr<Database> db = database_if_present(args.get("db"));
    ChosenSchedule c = schedule_from_database(db.get(), wl, target, int(threads));
    if (c.origin != ScheduleOrigin::Tuned) {
      std::fprintf(stderr, "convtune: warning: no tuned record for %s on %s in '%s'; compiling the %s config\n",
                   wl.key().c_str(), target_slot(target.key(), int(threads)).c_str(), args.get("db").c_str(),
                   c.origin == ScheduleOrigin::Predicted ? "predicted" : "default");
    }
    schedule = std::move(c.schedule);
    chosen = c.source;
  }
  const std::string described = schedule.template_name.empty() ? chosen
                                                               : schedule.template_name + " " + schedule.config.dump() + ", " + chosen;

  const CompiledArtifact artifact = compile_artifact(scheduled_nest(wl, schedule, name), target, kind);
  std::vector<std::pair<std::string, std::string>> files = {{output, artifact.bytes}};
  if (args.has("header")) {
    files.push_back({args.get("header"), c_header(artifact.abi, {wl.spec(), wl.key(), target.key(), described})});
  }
  if (ptx) files.push_back({output + ".json", launch_json(artifact.abi, wl, target, described)});
  write_all(files);
  std::printf("compiled %s (%s) for %s, schedule %s\n  %s", name.c_str(), wl.spec().c_str(), target.key().c_str(),
              described.c_str(), output.c_str());
  if (args.has("header")) std::printf(", %s", args.get("header").c_str());
  if (ptx) std::printf(", %s.json", output.c_str());
  std::printf("\n");
  return 0;
}

} // namespace convtune::cli
