/// \file What a target is: the machine a kernel is compiled for and measured on, and the
/// factory that makes one from its `--target` name.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace convtune {

enum class TargetKind { Cpu, Cuda };

/// A compilation target. For a CPU: the LLVM triple, CPU name and feature string the code is
/// generated for, the widest vector and how many of them the register file holds. For CUDA:
/// the NVPTX triple and the SM architecture (`cpu` is "sm_90").
struct Target {
  TargetKind kind = TargetKind::Cpu;
  std::string name = "cpu";  ///< as the user named it: "cpu", "x86-64-v3", "znver4", "cuda:sm_90"
  std::string triple;
  std::string cpu;        ///< e.g. "znver4", "x86-64-v3", "sm_90"
  std::string features;   ///< LLVM feature string, e.g. "+avx2,+avx512f,..."
  int vector_bits = 128;  ///< widest usable fp32 vector register, in bits
  int vector_registers = 16;  ///< how many such registers the code may keep live
  int cores = 1;          ///< hardware threads available to this process
  int sm = 0;             ///< CUDA: the compute capability as a number (90 for sm_90)
  /// CUDA: the GPU that runs it (its name, e.g. "NVIDIA H200"), once known (runnable_target);
  /// part of the key, so records of one GPU are not another's.
  std::string device;

  int vector_lanes() const { return vector_bits / 32; }
  bool has_feature(const std::string& name) const;
  /// Stable text naming what makes measurements comparable: kind, triple, cpu, vector width.
  std::string key() const;
};

void to_json(nlohmann::json& j, const Target& t);

/// The host CPU as LLVM sees it (named "cpu").
Target host_target();

/// The target factory, for `--target`:
/// - "cpu" or "host": the host CPU with every feature it has;
/// - an x86-64 micro-architecture level ("x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4") or
///   any x86 CPU LLVM knows ("haswell", "skylake-avx512", "icelake-server", "sapphirerapids",
///   "znver3", "znver4", ...): that CPU's features, whatever the host is;
/// - "cuda" or "cuda:sm_XX": an NVIDIA GPU of that architecture or a newer one (sm_90 for "cuda").
/// Anything else is a UserError naming the value.
Target parse_target(const std::string& name);

/// Throws a UserError naming the target and what is missing when code for `target` cannot run
/// in this process: a GPU target without a CUDA driver and a GPU of at least its architecture,
/// another CPU architecture, or a CPU feature the host lacks.
void require_host_can_run(const Target& target);

/// `target` as this process runs it: require_host_can_run's checks, and for a GPU the name of
/// the one found (`device`).
Target runnable_target(const Target& target);

} // namespace convtune
