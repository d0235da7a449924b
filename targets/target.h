/// \file What a target is: the machine a kernel is compiled for and measured on.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace convtune {

enum class TargetKind { Cpu, Cuda };

/// A compilation target. For the CPU: the LLVM triple, CPU name and feature string the code
/// is generated for, and the widest vector the code generator uses.
struct Target {
  TargetKind kind = TargetKind::Cpu;
  std::string triple;
  std::string cpu;        ///< e.g. "znver4"
  std::string features;   ///< LLVM feature string, e.g. "+avx2,+avx512f,..."
  int vector_bits = 128;  ///< widest usable fp32 vector register, in bits
  int cores = 1;          ///< hardware threads available to this process

  int vector_lanes() const { return vector_bits / 32; }
  bool has_feature(const std::string& name) const;
  /// Stable text naming what makes measurements comparable: kind, triple, cpu, vector width.
  std::string key() const;
};

void to_json(nlohmann::json& j, const Target& t);

/// The host CPU as LLVM sees it.
Target host_target();

/// Parses `--target`: "cpu" (the host). Throws UserError naming the value otherwise.
Target parse_target(const std::string& name);

} // namespace convtune
