/// \file The vectorize primitive reaches the machine code through convtune's own widening: with
/// LLVM's loop and SLP vectorizers off, the default schedules still emit full-width vector FMAs
/// for every named x86 target, whatever the host is, while the naive nest emits none.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "compiler/compile.h"
#include "ir/workload.h"
#include "schedules/schedule_template.h"
#include "schedules/schedule.h"
#include "targets/target.h"

using namespace convtune;

namespace {

/// How many instruction lines contain both `mnemonic` and `reg`.
int count_lines(const std::string& assembly, const std::string& mnemonic, const std::string& reg) {
  std::istringstream in(assembly);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.find(mnemonic) != std::string::npos && line.find(reg) != std::string::npos) ++n;
  }
  return n;
}

/// Assembly of `spec` under `schedule` ("default" or "naive") for `target`, LLVM's vectorizers off.
std::string assembly_without_llvm_vectorizers(const std::string& spec, const Target& target, const std::string& schedule) {
  const Workload wl = parse_workload(spec);
  LowerOptions options;
  options.llvm_vectorizers = false;
  return compile_assembly(scheduled_nest(wl, resolve_schedule(schedule, wl, target)), target, options);
}

struct NamedTarget {
  const char* name;
  const char* reg;  ///< the widest fp32 vector register of that target
  int lanes;
};
const NamedTarget kTargets[] = {{"x86-64-v3", "%ymm", 8}, {"x86-64-v4", "%zmm", 16}};

} // namespace

TEST_CASE("The default dense schedule emits full-width vector FMAs on every named x86 target", "[compiler][vectorize][asm]") {
  const std::string spec = "n=1,c=32,h=8,w=8,k=32,r=3,s=3,pad=1";
  for (const NamedTarget& t : kTargets) {
    const Target target = parse_target(t.name);
    REQUIRE(target.vector_lanes() == t.lanes);
    const std::string assembly = assembly_without_llvm_vectorizers(spec, target, "default");
    INFO(t.name << ": vfmadd lines with " << t.reg << ": " << count_lines(assembly, "vfmadd", t.reg));
    CHECK(count_lines(assembly, "vfmadd", t.reg) > 0);
    // The AVX2 level must not use AVX-512 registers, even on an AVX-512 host.
    if (t.lanes == 8) CHECK(assembly.find("%zmm") == std::string::npos);
  }
}

TEST_CASE("The default depthwise schedule emits full-width vector FMAs on every named x86 target", "[compiler][vectorize][asm]") {
  const std::string spec = "n=1,c=64,h=10,w=10,k=64,r=3,s=3,pad=1,groups=64";
  for (const NamedTarget& t : kTargets) {
    const std::string assembly = assembly_without_llvm_vectorizers(spec, parse_target(t.name), "default");
    INFO(t.name << ": vfmadd lines with " << t.reg << ": " << count_lines(assembly, "vfmadd", t.reg));
    CHECK(count_lines(assembly, "vfmadd", t.reg) > 0);
  }
}

TEST_CASE("Without a vectorize step and without LLVM's vectorizers there are no full-width FMAs", "[compiler][vectorize][asm]") {
  // The control: what the two tests above see comes from convtune's widening, not from LLVM.
  const std::string assembly =
      assembly_without_llvm_vectorizers("n=1,c=32,h=8,w=8,k=32,r=3,s=3,pad=1", parse_target("x86-64-v4"), "naive");
  CHECK(count_lines(assembly, "vfmadd", "%zmm") == 0);
  CHECK(count_lines(assembly, "vfmadd", "%ymm") == 0);
  CHECK(count_lines(assembly, "vfmadd", "%xmm") > 0);  // the scalar FMAs are there
}
