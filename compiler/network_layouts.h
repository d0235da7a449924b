/// \file Which tensors of a network stay blocked between kernels, and in what layout.
///
/// A tensor that a kernel writes and only kernels read is kept in the layout its readers' input
/// packing makes (the packing most of them make, when they differ): the writer stores it there,
/// those readers skip their packing and read it in place; the other readers pack from it, and a
/// reader adding it as its residual reads it in that layout too. A tensor only added as a
/// residual takes its reader's output layout. Tensors with another reader (plain-loop layers, the
/// network's output), and the network's input, stay dense NCHW.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "ir/kernel_abi.h"
#include "ir/network.h"
#include "ir/tensor_layout.h"
#include "schedules/schedule.h"

namespace convtune {

using TensorLayouts = std::vector<std::optional<TensorLayout>>;  ///< per tensor; nullopt: dense

/// The layouts, from the kernel each kernel layer runs compiled dense (`dense[layer]`).
TensorLayouts plan_layouts(const Network& net, const std::vector<KernelAbi>& dense);

/// The ABI of each kernel layer's kernel compiled dense with `schedule_of(layer)`, derived from
/// its scheduled nest alone (no code generated); empty for the other layers.
std::vector<KernelAbi> dense_abis(const Network& net, const std::function<Schedule(size_t layer)>& schedule_of);

/// How many tensors are kept blocked.
int blocked_count(const TensorLayouts& layouts);

/// Each tensor's bytes as stored where it is blocked (0 where dense): what the workspace plan places.
std::vector<int64_t> storage_bytes(const TensorLayouts& layouts);

/// What kernel layer `layer` is compiled with under `layouts`: its output and residual layouts,
/// and its input's where its kernel compiled dense (`dense[layer]`) packs that tensor otherwise.
ParamLayouts layer_layouts(const Network& net, size_t layer, const std::vector<KernelAbi>& dense, const TensorLayouts& layouts);

/// The entry of `abi.blocked` for the input: whose packing is skipped and whose packed temporary
/// is the tensor itself, when the layer's input is blocked as it packs; nullptr otherwise.
const AbiBlocked* blocked_input(const Network& net, size_t layer, const TensorLayouts& layouts, const KernelAbi& abi);

} // namespace convtune
