/// \file Reading an ONNX model into a Network: one layer per operator node, shapes inferred,
/// initializers as constant weights, the nodes that only compute shapes folded away.
///
/// Opsets 11 to 17; f32 tensors with fixed shapes; the operators torchvision's classification
/// networks export (see kSupportedOperators). Anything else is a UserError of one line naming
/// the node and what is wrong; no model makes the importer crash.
#pragma once

#include <string>

#include "ir/network.h"

namespace convtune {

/// The operators the importer reads, as one comma-separated line (for messages and help).
extern const char* const kSupportedOperators;

/// Reads the model at `path`. The network's layers are in topological order, unfused.
Network import_onnx(const std::string& path);
/// The same from a model's serialized bytes; `label` names it in messages.
Network import_onnx_bytes(const std::string& bytes, const std::string& label);

} // namespace convtune
