/// \file The `convtune` driver: dispatches to a subcommand and maps errors to exit codes
/// (2: the user's mistake, 3: an internal error).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "compiler/cli/commands.h"
#include "ir/error.h"

namespace {

const char* kUsage =
    "convtune " CONVTUNE_VERSION " - an autotuning compiler for 2-D convolutions\n"
    "\n"
    "usage: convtune COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  show    the workload, its FLOPs, bytes and arithmetic intensity, and its loop nest\n"
    "  run     JIT-compile the layer, check it against the reference, time it\n"
    "  bench   the layer through several backends (naive, im2col, oneDNN, convtune), side by side\n"
    "  tune    search schedules on this machine, recording every trial in the tuning database\n"
    "  db      the tuning database: best, list, export\n"
    "  compile the layer ahead of time into an object file and a C header, with its best config\n"
    "  space   the layer's search space: each template that applies, its knobs and their values\n"
    "  measure measure a list of configs (any searcher's) and append them to the tuning database\n"
    "\n"
    "A workload (--workload) is a suite entry (resnet18:C6, mobilenet:D4), an inline spec\n"
    "(n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1) or a benchdnn descriptor\n"
    "(mb1ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1).\n"
    "\n"
    "`convtune COMMAND --help` lists the options of a command.\n";

} // namespace

int main(int argc, char** argv) {
  using namespace convtune;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::puts("convtune " CONVTUNE_VERSION);
    return 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "show") return cli::cmd_show(args);
    if (command == "run") return cli::cmd_run(args);
    if (command == "bench") return cli::cmd_bench(args);
    if (command == "tune") return cli::cmd_tune(args);
    if (command == "db") return cli::cmd_db(args);
    if (command == "compile") return cli::cmd_compile(args);
    if (command == "worker") return cli::cmd_worker(args);
    if (command == "space") return cli::cmd_space(args);
    if (command == "measure") return cli::cmd_measure(args);
    throw UserError("unknown command '" + command + "' (see convtune --help)");
  } catch (const UserError& e) {
    std::fprintf(stderr, "convtune: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "convtune: internal error: %s (please report this)\n", e.what());
    return 3;
  }
}
