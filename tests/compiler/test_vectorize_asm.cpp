/// \file The vectorize primitive reaches the machine code: the default schedules emit full-width vector FMAs.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "compiler/compile.h"
#include "ir/workload.h"
#include "schedules/conv_template.h"
#include "schedules/schedule.h"
#include "targets/target.h"

using namespace convtune;

namespace {

/// The register prefix of the target's widest fp32 vector ("%zmm", "%ymm"), or "" for
/// targets this check does not cover.
std::string widest_register(const Target& t) {
  if (t.vector_bits >= 512) return "%zmm";
  if (t.vector_bits >= 256) return "%ymm";
  return "";
}

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

std::string default_assembly(const Workload& wl, const Target& target) {
  return compile_assembly(scheduled_nest(wl, make_schedule(wl, target, default_config(wl, target))), target);
}

} // namespace

TEST_CASE("The default dense schedule emits full-width vector FMAs", "[compiler][vectorize][asm]") {
  const Target target = host_target();
  const std::string reg = widest_register(target);
  INFO("host cpu " << target.cpu << ", vector bits " << target.vector_bits);
  if (reg.empty()) {
    WARN("the host's vectors are narrower than 256 bits; nothing to check");
    return;
  }
  const Workload wl = parse_workload("n=1,c=32,h=8,w=8,k=32,r=3,s=3,pad=1");
  const std::string assembly = default_assembly(wl, target);
  const int fmas = count_lines(assembly, "vfmadd", reg);
  INFO("vfmadd lines with " << reg << ": " << fmas);
  CHECK(fmas > 0);
}

TEST_CASE("The default depthwise schedule emits full-width vector FMAs or multiply-adds", "[compiler][vectorize][asm]") {
  const Target target = host_target();
  const std::string reg = widest_register(target);
  INFO("host cpu " << target.cpu << ", vector bits " << target.vector_bits);
  if (reg.empty()) {
    WARN("the host's vectors are narrower than 256 bits; nothing to check");
    return;
  }
  const Workload wl = parse_workload("n=1,c=64,h=10,w=10,k=64,r=3,s=3,pad=1,groups=64");
  const std::string assembly = default_assembly(wl, target);
  const int fmas = count_lines(assembly, "vfmadd", reg);
  const int muls = count_lines(assembly, "vmulps", reg);
  const int adds = count_lines(assembly, "vaddps", reg);
  INFO("lines with " << reg << ": vfmadd " << fmas << ", vmulps " << muls << ", vaddps " << adds);
  CHECK((fmas > 0 || (muls > 0 && adds > 0)));
}
