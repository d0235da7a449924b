/// \file The algorithms convtune knows, each written once as data (ir/algorithm.h).
#pragma once

#include "ir/algorithm.h"
#include "ir/workload.h"

#include <optional>
#include <utility>

namespace convtune {

/// Direct convolution: pure n, (g,) k, p, q; the update sums input * weight over c, r, s,
/// skipping padded taps (a guard only for the sides the taps can cross). With groups, k and c
/// count within group g. With an epilogue, the convolution goes to a temporary `conv` and a
/// second stage writes the output: + bias[k], + residual, ReLU as the workload says.
Algorithm direct_conv(const Workload& wl);

/// Direct convolution over copies of its operands: a stage `input_padded` (the input with its
/// padding as zeros, every row and column a tap reads; a layout stage), a stage
/// `weights_staged` (the weights as they are, each filter one row of (c, r, s) taps; the
/// weights parameter is K x C/g*R*S, the same bytes as KCRS), and `conv` summing their
/// products with no guard.
/// A GPU schedule computes both copies per block in shared memory (compute_at ... "shared");
/// computed whole, they are an input packing and a weights' copy. The epilogue as for
/// direct_conv.
Algorithm direct_conv_staged(const Workload& wl);

/// im2col + GEMM: a gather stage `columns[n][g][(c*R + r)*S + s][p*Q + q]` (zero at padding; a
/// layout stage), then a GEMM stage over pure n, (g,) k, col = p*Q + q summing weights *
/// columns over the row; the epilogue as for direct_conv.
Algorithm im2col_gemm(const Workload& wl);

/// The output tile side m of the algorithm named `name` when it is winograd_fM or
/// winograd_fM_cB; 0 otherwise.
int winograd_tile_of(const std::string& name);

/// B of winograd_fM_cB; 0 for winograd_fM or another name.
int64_t winograd_channel_block_of(const std::string& name);

/// Whether Winograd's F(m x m, 3 x 3) computes `wl`: a 3x3 convolution, stride 1, dilation 1
/// (any padding, groups, batch, epilogue).
bool winograd_applies(const Workload& wl);

/// Winograd's minimal filtering F(m x m, 3 x 3), m in winograd_tiles() (ir/winograd.h), as four
/// stages: the weights' transform U = G w G^T (a packing stage: done once for fixed weights),
/// the input's transform V = BT d BT^T per tile of (m+2)^2 inputs, the main stage `products`
/// summing U . V over the channels (one GEMM per tile element), and the output's transform
/// Y = AT M AT^T written to the result; the epilogue as for direct_conv. The matrices are
/// constant tables of the nest. UserError naming the workload when it does not apply.
///
/// With a channel block B that does not divide the channels (winograd_fM_cB), the input's
/// transform runs over the channels rounded up to a multiple of B, so that a transform
/// vectorized B channels at a time has no tail: the channels past C read zeros (a packed input
/// holds them; an unpacked one is guarded) and the GEMMs never read their V. Not for groups,
/// whose next group's channels lie past C/g.
Algorithm winograd(const Workload& wl, int m, int64_t channel_block = 0);

/// Direct sparse convolution on the layer's given weights (ir/sparse.h), after Park et al.
/// (ICLR 2017): the pattern of nonzeros is fixed at compile time as index tables (each output
/// channel's taps, padded to the longest row), and a packing stage `sparse_weights`
/// gathers the nonzero values from the weights parameter (zeros in the padding), so a kernel
/// runs with any weights of that pattern. The main stage `conv` sums, for each output point,
/// its channel's nonzero values times the input shifted by their taps: no lowering to a
/// matrix. It reads a zero-padded copy of the input with one copy of each row per tap column
/// (`input_shifted`, a layout stage: a tap's columns are one aligned vector at any stride and
/// dilation, and a tap is one offset, table `sparse_offset`), and sums into `conv`, whose rows
/// are whole vectors of 16 columns; the epilogue (as for direct_conv), or a `crop` stage,
/// writes the output. UserError when the workload has no given weights.
///
/// With `channel_block` below the group's input channels, each row's taps are listed per block
/// of that many input channels (the reduction runs over blocks, then a block's taps), so that a
/// schedule can keep one block's input rows in cache across every output channel. Each list is
/// padded to the longest one. The algorithm is named sparse_direct, or sparse_direct_cN with
/// blocks of N channels.
Algorithm sparse_direct(const Workload& wl, int64_t channel_block = 0);
/// The channel block of the algorithm named `name` when it is sparse_direct (0: one block of
/// every channel) or sparse_direct_cN (N); -1 when it is neither.
int64_t sparse_channel_block_of(const std::string& name);

/// Sparse direct convolution in blocked CSR: output channels in blocks of `block` (a vector's
/// lanes), each block listing the union of its channels' nonzero taps (per block of
/// `channel_block` input channels; 0: all), so a tap is one input value broadcast times one
/// vector of the block's weights: the dense direct kernel's register tile without the zero
/// taps. Made for block-pruned weights (`--sparsity-block`), where a block's channels share
/// their taps; on unstructured weights the union holds up to `block` times the nonzeros. The
/// input is read from a zero-padded copy (`input_flat`, one offset a tap), the sums go to
/// `conv[n][k / B][p][q][k % B]`, the epilogue or a `crop` writes the output. Ungrouped
/// convolutions with given weights (UserError otherwise). Named sparse_blocked_kB[_cN].
Algorithm sparse_blocked(const Workload& wl, int64_t block, int64_t channel_block = 0);
/// (block, channel block) of the algorithm named `name` when it is sparse_blocked.
std::optional<std::pair<int64_t, int64_t>> sparse_blocked_of(const std::string& name);

/// Max or average pooling over each channel's r x s window. Max: one stage, a max-update
/// from -inf over the window's input taps. Average: `sum` and `count` (the window's input
/// taps, or r*s with count_include_pad) stages, then `output = sum / count`.
Algorithm pooling(const Workload& wl);

/// The algorithm of a workload: pooling for pooling ops, direct convolution otherwise.
Algorithm algorithm_for(const Workload& wl);

/// The algorithm called `name` for `wl` (empty: algorithm_for); UserError naming it when it
/// is unknown or does not compute the workload.
Algorithm algorithm_named(const std::string& name, const Workload& wl);

} // namespace convtune
