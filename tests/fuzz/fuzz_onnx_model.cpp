/// \file libFuzzer target: the ONNX importer and fusion on arbitrary bytes. A refusal is a
/// UserError; anything else (a crash, a sanitizer report, an internal error, a hang in a cycle)
/// is a bug. A model that imports must fuse, verify and plan its workspace.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/network_fusion.h"
#include "compiler/onnx_import.h"
#include "ir/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  convtune::Network net;
  try {
    net = convtune::import_onnx_bytes(bytes, "fuzz.onnx");
  } catch (const convtune::UserError&) {
    return 0;
  }
  convtune::fuse_layers(net);
  net.verify();
  (void)net.plan_workspace();
  (void)net.flops();
  return 0;
}
