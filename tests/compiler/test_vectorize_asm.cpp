/// \file The vectorize primitive reaches the machine code: the default schedules emit full-width vector FMAs.
#include <catch2/catch.hpp>

#include <optional>
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

/// The default schedule of a layer compiled for the host.
struct HostAssembly {
  std::string host;      ///< "host cpu C, vector bits B", for failure messages
  std::string reg;       ///< the host's widest fp32 vector register
  std::string assembly;
};

/// The host's assembly for the default schedule of `spec`; nothing (after a warning) where the
/// host's vectors are narrower than 256 bits, so there is nothing to check.
std::optional<HostAssembly> default_host_assembly(const std::string& spec) {
  const Target target = host_target();
  const std::string host = "host cpu " + target.cpu + ", vector bits " + std::to_string(target.vector_bits);
  const std::string reg = widest_register(target);
  if (reg.empty()) {
    WARN(host << ": the host's vectors are narrower than 256 bits; nothing to check");
    return std::nullopt;
  }
  const Workload wl = parse_workload(spec);
  return HostAssembly{host, reg, compile_assembly(scheduled_nest(wl, make_schedule(wl, target, default_config(wl, target))), target)};
}

} // namespace

TEST_CASE("The default dense schedule emits full-width vector FMAs", "[compiler][vectorize][asm]") {
  const std::optional<HostAssembly> compiled = default_host_assembly("n=1,c=32,h=8,w=8,k=32,r=3,s=3,pad=1");
  if (!compiled) return;
  INFO(compiled->host);
  const int fmas = count_lines(compiled->assembly, "vfmadd", compiled->reg);
  INFO("vfmadd lines with " << compiled->reg << ": " << fmas);
  CHECK(fmas > 0);
}

TEST_CASE("The default depthwise schedule emits full-width vector FMAs or multiply-adds", "[compiler][vectorize][asm]") {
  const std::optional<HostAssembly> compiled = default_host_assembly("n=1,c=64,h=10,w=10,k=64,r=3,s=3,pad=1,groups=64");
  if (!compiled) return;
  INFO(compiled->host);
  const int fmas = count_lines(compiled->assembly, "vfmadd", compiled->reg);
  const int muls = count_lines(compiled->assembly, "vmulps", compiled->reg);
  const int adds = count_lines(compiled->assembly, "vaddps", compiled->reg);
  INFO("lines with " << compiled->reg << ": vfmadd " << fmas << ", vmulps " << muls << ", vaddps " << adds);
  CHECK((fmas > 0 || (muls > 0 && adds > 0)));
}
