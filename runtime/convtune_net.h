/* \file The layers of a network that are not compiled kernels (global average pooling,
 * elementwise, concat, pad, copy), in C over dense NCHW f32, parallel over channels through
 * the runtime's pool. The JIT network runner and the ahead-of-time network library call the
 * same functions (libconvtune_rt.a). */
#ifndef CONVTUNE_NET_H
#define CONVTUNE_NET_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Activations, as the network IR numbers them (ir/network.h Activation::Kind). */
enum { CONVTUNE_ACT_NONE = 0, CONVTUNE_ACT_RELU, CONVTUNE_ACT_CLIP, CONVTUNE_ACT_SIGMOID, CONVTUNE_ACT_HARD_SIGMOID,
       CONVTUNE_ACT_HARD_SWISH, CONVTUNE_ACT_SILU };
/* What an elementwise layer combines its input with. */
enum { CONVTUNE_BINARY_NONE = 0, CONVTUNE_BINARY_ADD, CONVTUNE_BINARY_MUL };

/* y[i][j] = mean over j of x[i][j], i < nc, j < plane. */
void convtune_global_avg_pool(int64_t nc, int64_t plane, const float* x, float* y);

/* y = act((x * scale[c] + shift[c]) op other) over n x c x plane; scale, shift: null for 1
 * and 0; other: n x c x plane, or n x c when other_per_channel (broadcast over the plane),
 * null when op is NONE; lo, hi: Clip's bounds; alpha, beta: HardSigmoid's. */
void convtune_elementwise(int64_t n, int64_t c, int64_t plane, const float* x, const float* scale, const float* shift,
                          int64_t op, const float* other, int64_t other_per_channel, int64_t activation, float lo,
                          float hi, float alpha, float beta, float* y);

/* y (n x sum of channels x plane) = the inputs one after another along channels. */
void convtune_concat(int64_t n, int64_t plane, int64_t count, const float* const* inputs, const int64_t* channels, float* y);

/* y (nc x (h + top + bottom) x (w + left + right)) = x (nc x h x w) padded with value. */
void convtune_pad(int64_t nc, int64_t h, int64_t w, int64_t top, int64_t left, int64_t bottom, int64_t right, float value,
                  const float* x, float* y);

void convtune_copy(int64_t elements, const float* x, float* y);

/* y (n x groups*per_group x plane): channel j * groups + i of y is channel i * per_group + j of x. */
void convtune_channel_shuffle(int64_t n, int64_t groups, int64_t per_group, int64_t plane, const float* x, float* y);

/* y (n x count x plane) = channels [begin, begin + count) of x (n x c x plane). */
void convtune_slice_channels(int64_t n, int64_t c, int64_t begin, int64_t count, int64_t plane, const float* x, float* y);

/* A tensor kept in channel blocks between kernels (ir/tensor_layout.h): x is
 * n x blocks x rows x columns x block, the logical channels x height x width tensor at rows from
 * top and columns from left. Writes value everywhere else: the rows and columns around it and
 * the lanes of the last block past its channels. */
void convtune_fill_exterior(float* x, int64_t n, int64_t blocks, int64_t rows, int64_t columns, int64_t block, int64_t top,
                            int64_t left, int64_t channels, int64_t height, int64_t width, float value);

#ifdef __cplusplus
}
#endif

#endif
