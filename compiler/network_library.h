/// \file A whole network ahead of time: one static library and one C header.
///
/// The library holds a kernel object per distinct layer kernel and a driver object whose entries
/// (NET is the chosen name) are:
/// - `int64_t NET_weights_count(void)`: the floats of the weights the library is initialised
///   from (each convolution's KCRS weights then its bias, in layer order: the `.weights` file);
/// - `int NET_init(const float* weights)`: packs every layer's weights once into memory the
///   library keeps (NULL: the weights embedded with --embed-weights); 0, or an error code;
/// - `int64_t NET_workspace_size(void)`: the bytes NET_run needs (intermediates and kernel
///   temporaries, placed by the network's workspace plan);
/// - `int NET_run(const float* input, float* output, void* workspace)`: one inference (a NULL
///   workspace is allocated for the call); re-entrant with distinct workspaces;
/// - `void NET_release(void)`: frees what NET_init kept.
/// Non-kernel layers call libconvtune_rt (runtime/convtune_net.h), as the JIT runner does.
#pragma once

#include <string>
#include <vector>

#include "compiler/network_runner.h"
#include "ir/network.h"
#include "targets/target.h"

namespace convtune {

/// Return codes of the network entries beyond the kernels' (ir/kernel_abi.h).
constexpr int kNetworkNotInitialised = 3;
constexpr int kNetworkNoWeights = 4;

struct NetworkLibrary {
  std::string archive;             ///< libNET.a
  std::string header;              ///< NET.h
  std::vector<float> weights;      ///< what NET_init takes (also embedded with embed_weights)
  std::vector<std::string> layer_schedules;  ///< per layer, as NetworkRunner::schedules
  int kernels = 0;
};

/// Compiles `net` for `target` (which need not be this host), kernel layer i with schedule
/// `schedules[i]` (other layers' entries unused). `name` must be a C identifier.
NetworkLibrary compile_network_library(const Network& net, const std::string& name, const Target& target,
                                       const std::vector<ChosenSchedule>& schedules, bool embed_weights);

} // namespace convtune
