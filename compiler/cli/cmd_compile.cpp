/// \file `convtune compile`: a layer ahead of time into an object file (or its assembly or LLVM
/// IR) and a C header, with the best config the tuning database holds for it.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include "compiler/c_header.h"
#include "compiler/cli/args.h"
#include "compiler/cli/commands.h"
#include "compiler/compile.h"
#include "ir/error.h"
#include "ir/workload.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"
#include "tuner/database.h"

namespace convtune::cli {

namespace {

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

EmitKind emit_kind(const std::string& s) {
  if (s == "obj") return EmitKind::Object;
  if (s == "asm") return EmitKind::Assembly;
  if (s == "llvm") return EmitKind::LlvmIr;
  throw UserError("--emit '" + s + "' is not one of obj, asm, llvm");
}

} // namespace

int cmd_compile(const std::vector<std::string>& argv_in) {
  Args args("compile", {options::workload(),
                        options::db("the tuning database whose best config is compiled"),
                        options::target("the target to compile for: cpu (this host), an x86-64 level (x86-64-v3, x86-64-v4) "
                                        "or an x86 CPU LLVM knows (znver4, skylake-avx512, ...); it need not be this host"),
                        options::threads("the thread count whose tuned config is compiled"),
                        {"name", "NAME", "the kernel's symbol (a C identifier); its entries are NAME, NAME_run, ...", ""},
                        {"output", "FILE", "the file to write (also -o)", ""},
                        {"header", "FILE", "the C header to write next to it", ""},
                        {"emit", "KIND", "obj (an ELF object), asm (its assembly) or llvm (its LLVM IR)", "obj"},
                        {"schedule", "S", "a template's default config, a template name, or a schedule/config JSON file, instead of the database's best", ""}});
  // `-o FILE` as compilers spell it.
  std::vector<std::string> argv;
  for (const std::string& a : argv_in) argv.push_back(a == "-o" ? "--output" : a);
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune compile --workload SPEC --name NAME -o OUT.o [--header OUT.h] [--db FILE] "
                           "[--target T] [--threads T] [--emit obj|asm|llvm] [--schedule S]");
    return 0;
  }
  const Workload wl = parse_workload(args.require("workload"));
  const Target target = parse_target(args.get("target"));
  const int64_t threads = args.get_int("threads", 1);
  const std::string name = args.require("name");
  if (!is_c_identifier(name)) throw UserError("--name '" + name + "' is not a C identifier");
  const std::string output = args.require("output");
  const EmitKind kind = emit_kind(args.get("emit"));

  // The schedule: named on the command line, else the database's best, else the default.
  Schedule schedule;
  std::string chosen;
  if (args.has("schedule")) {
    schedule = resolve_schedule(args.get("schedule"), wl, target);
    chosen = "given: " + args.get("schedule");
  } else {
    const std::string slot = target_slot(target.key(), int(threads));
    std::unique_ptr<Database> db;
    if (std::ifstream(args.get("db"))) {
      db = std::make_unique<Database>(args.get("db"));
      db->load(std::cerr);
    }
    const TrialRecord* best = db ? db->best(wl.key(), slot) : nullptr;
    if (best) {
      schedule = schedule_from_json(best->schedule);
      char measured[64];
      std::snprintf(measured, sizeof measured, "tuned (%.1f GFLOP/s measured)", best->gflops);
      chosen = measured;
    } else {
      std::fprintf(stderr, "convtune: warning: no tuned record for %s on %s in '%s'; compiling the default config\n",
                   wl.key().c_str(), slot.c_str(), args.get("db").c_str());
      schedule = resolve_schedule("default", wl, target);
      chosen = "default";
    }
  }
  const std::string described = schedule.template_name.empty() ? chosen
                                                               : schedule.template_name + " " + schedule.config.dump() + ", " + chosen;

  const CompiledArtifact artifact = compile_artifact(scheduled_nest(wl, schedule, name), target, kind);
  std::vector<std::pair<std::string, std::string>> files = {{output, artifact.bytes}};
  if (args.has("header")) {
    files.push_back({args.get("header"), c_header(artifact.abi, {wl.spec(), wl.key(), target.key(), described})});
  }
  write_all(files);
  std::printf("compiled %s (%s) for %s, schedule %s\n  %s", name.c_str(), wl.spec().c_str(), target.key().c_str(),
              described.c_str(), output.c_str());
  if (args.has("header")) std::printf(", %s", args.get("header").c_str());
  std::printf("\n");
  return 0;
}

} // namespace convtune::cli
