/* \file Network layers in C, parallel over channels. */
#include "runtime/convtune_net.h"

#include <math.h>
#include <string.h>

#include "runtime/convtune_rt.h"

/* Channels are the unit of parallel work: small layers stay on the calling thread. */
static int64_t min_plane_work = 4096;

typedef struct {
  int64_t plane;
  const float* x;
  float* y;
} gap_args;

static void gap_task(void* closure, int64_t begin, int64_t end) {
  const gap_args* a = (const gap_args*)closure;
  for (int64_t i = begin; i < end; ++i) {
    float sum = 0;
    for (int64_t j = 0; j < a->plane; ++j) sum += a->x[i * a->plane + j];
    a->y[i] = sum / (float)a->plane;
  }
}

/* Runs fn over [0, n) on the pool when there is enough work per item, else here. */
static void run(convtune_task_fn fn, void* closure, int64_t n, int64_t work_per_item) {
  if (n * work_per_item < min_plane_work || n < 2) fn(closure, 0, n);
  else convtune_parallel_for(fn, closure, n);
}

void convtune_global_avg_pool(int64_t nc, int64_t plane, const float* x, float* y) {
  gap_args a = {plane, x, y};
  run(gap_task, &a, nc, plane);
}

typedef struct {
  int64_t c, plane;
  const float *x, *scale, *shift, *other;
  int64_t op, other_per_channel, activation;
  float lo, hi, alpha, beta;
  float* y;
} eltwise_args;

/* e^x in float for the sigmoid family: 2^n e^r with n = round(x / ln 2), |r| <= ln(2) / 2, e^r by
 * its degree-6 Taylor polynomial (relative error under 2e-7 there), 2^n built in the exponent
 * bits. Branch-free, so that the loops calling it vectorize; x is clamped to where e^x is a
 * normal float. */
static inline float exp_f32(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const int32_t n = (int32_t)(x * 1.44269504f + (x < 0 ? -0.5f : 0.5f));
  const float fn = (float)n;
  const float r = (x - fn * 0.693145752f) - fn * 1.42860677e-06f; /* ln 2 in two parts: r exact */
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const uint32_t bits = (uint32_t)(n + 127) << 23; /* unsigned: defined for any n (a NaN input) */
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* The sigmoid family over a row, in a loop that vectorizes: through a buffer on the stack, as
 * the result often replaces its input in place (a vectorized loop may not write where it
 * reads), and out of line (GCC otherwise merges the activations' loops into one). */
enum { kRowChunk = 256 };

/* Subnormal floats cost a microcode assist in each operation that meets one (here 3-5x slower
 * rows where many are): the sigmoid family runs with them read and written as zero (MXCSR's
 * DAZ and FTZ bits), the caller's mode restored after. */
#if defined(__SSE__)
static inline unsigned subnormals_off(void) {
  const unsigned csr = __builtin_ia32_stmxcsr();
  __builtin_ia32_ldmxcsr(csr | 0x8040u);
  return csr;
}
static inline void subnormals_restore(unsigned csr) { __builtin_ia32_ldmxcsr(csr); }
#else
static inline unsigned subnormals_off(void) { return 0; }
static inline void subnormals_restore(unsigned csr) { (void)csr; }
#endif

/* y[j] = sigmoid(v[j]), or v[j] * sigmoid(v[j]) (swish) when `swish`. */
static __attribute__((noinline)) void sigmoid_row(const float* v, float* y, int64_t len, int swish) {
  const unsigned csr = subnormals_off();
  float out[kRowChunk];
  for (int64_t j0 = 0; j0 < len; j0 += kRowChunk) {
    const int64_t m = len - j0 < kRowChunk ? len - j0 : kRowChunk;
    for (int64_t j = 0; j < m; ++j) out[j] = (swish ? v[j0 + j] : 1.0f) / (1.0f + exp_f32(-v[j0 + j]));
    memcpy(y + j0, out, (size_t)m * sizeof(float));
  }
  subnormals_restore(csr);
}

/* y[j] = the activation of v[j], j < len (v may be y). One loop per activation: no branch per
 * element. */
static void activate_row(const eltwise_args* a, const float* v, float* y, int64_t len) {
  switch (a->activation) {
  case CONVTUNE_ACT_RELU:
    for (int64_t j = 0; j < len; ++j) y[j] = v[j] > 0 ? v[j] : 0;
    break;
  case CONVTUNE_ACT_CLIP:
    for (int64_t j = 0; j < len; ++j) y[j] = v[j] < a->lo ? a->lo : (v[j] > a->hi ? a->hi : v[j]);
    break;
  case CONVTUNE_ACT_SIGMOID: sigmoid_row(v, y, len, 0); break;
  case CONVTUNE_ACT_SILU: sigmoid_row(v, y, len, 1); break;
  case CONVTUNE_ACT_HARD_SIGMOID:
    for (int64_t j = 0; j < len; ++j) {
      const float h = a->alpha * v[j] + a->beta;
      y[j] = h < 0 ? 0 : (h > 1 ? 1 : h);
    }
    break;
  case CONVTUNE_ACT_HARD_SWISH:
    for (int64_t j = 0; j < len; ++j) {
      const float h = v[j] / 6.0f + 0.5f;
      y[j] = v[j] * (h < 0 ? 0 : (h > 1 ? 1 : h));
    }
    break;
  default:
    if (v != y) memcpy(y, v, (size_t)len * sizeof(float));
  }
}

static void eltwise_task(void* closure, int64_t begin, int64_t end) {
  const eltwise_args* a = (const eltwise_args*)closure;
  for (int64_t i = begin; i < end; ++i) { /* i = image * c + channel */
    const int64_t ch = i % a->c;
    const float* x = a->x + i * a->plane;
    float* y = a->y + i * a->plane;
    /* The affine step and the combination over the row into y, then the activation in place. */
    const float* v = x;
    if (a->scale || a->shift) {
      const float scale = a->scale ? a->scale[ch] : 1.0f, shift = a->shift ? a->shift[ch] : 0.0f;
      for (int64_t j = 0; j < a->plane; ++j) y[j] = v[j] * scale + shift;
      v = y;
    }
    if (a->op != CONVTUNE_BINARY_NONE) {
      const float* o = a->other_per_channel ? a->other + i : a->other + i * a->plane;
      const int add = a->op == CONVTUNE_BINARY_ADD;
      if (a->other_per_channel && add) {
        for (int64_t j = 0; j < a->plane; ++j) y[j] = v[j] + o[0];
      } else if (a->other_per_channel) {
        for (int64_t j = 0; j < a->plane; ++j) y[j] = v[j] * o[0];
      } else if (add) {
        for (int64_t j = 0; j < a->plane; ++j) y[j] = v[j] + o[j];
      } else {
        for (int64_t j = 0; j < a->plane; ++j) y[j] = v[j] * o[j];
      }
      v = y;
    }
    activate_row(a, v, y, a->plane);
  }
}

void convtune_elementwise(int64_t n, int64_t c, int64_t plane, const float* x, const float* scale, const float* shift,
                          int64_t op, const float* other, int64_t other_per_channel, int64_t activation, float lo,
                          float hi, float alpha, float beta, float* y) {
  eltwise_args a = {c, plane, x, scale, shift, other, op, other_per_channel, activation, lo, hi, alpha, beta, y};
  run(eltwise_task, &a, n * c, plane);
}

void convtune_concat(int64_t n, int64_t plane, int64_t count, const float* const* inputs, const int64_t* channels, float* y) {
  int64_t total = 0;
  for (int64_t i = 0; i < count; ++i) total += channels[i];
  for (int64_t b = 0; b < n; ++b) {
    float* at = y + b * total * plane;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t len = channels[i] * plane;
      memcpy(at, inputs[i] + b * len, (size_t)len * sizeof(float));
      at += len;
    }
  }
}

void convtune_pad(int64_t nc, int64_t h, int64_t w, int64_t top, int64_t left, int64_t bottom, int64_t right, float value,
                  const float* x, float* y) {
  const int64_t ph = h + top + bottom, pw = w + left + right;
  for (int64_t i = 0; i < nc; ++i) {
    for (int64_t r = 0; r < ph; ++r) {
      float* row = y + (i * ph + r) * pw;
      const int64_t sr = r - top;
      if (sr < 0 || sr >= h) {
        for (int64_t q = 0; q < pw; ++q) row[q] = value;
        continue;
      }
      for (int64_t q = 0; q < left; ++q) row[q] = value;
      memcpy(row + left, x + (i * h + sr) * w, (size_t)w * sizeof(float));
      for (int64_t q = left + w; q < pw; ++q) row[q] = value;
    }
  }
}

void convtune_copy(int64_t elements, const float* x, float* y) { memcpy(y, x, (size_t)elements * sizeof(float)); }

void convtune_channel_shuffle(int64_t n, int64_t groups, int64_t per_group, int64_t plane, const float* x, float* y) {
  const int64_t c = groups * per_group;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t i = 0; i < groups; ++i) {
      for (int64_t j = 0; j < per_group; ++j) {
        memcpy(y + (b * c + j * groups + i) * plane, x + (b * c + i * per_group + j) * plane, (size_t)plane * sizeof(float));
      }
    }
  }
}

void convtune_slice_channels(int64_t n, int64_t c, int64_t begin, int64_t count, int64_t plane, const float* x, float* y) {
  for (int64_t b = 0; b < n; ++b) memcpy(y + b * count * plane, x + (b * c + begin) * plane, (size_t)(count * plane) * sizeof(float));
}

static void fill(float* x, int64_t count, float value) {
  for (int64_t i = 0; i < count; ++i) x[i] = value;
}

void convtune_fill_exterior(float* x, int64_t n, int64_t blocks, int64_t rows, int64_t columns, int64_t block, int64_t top,
                            int64_t left, int64_t channels, int64_t height, int64_t width, float value) {
  const int64_t row = columns * block;
  for (int64_t plane = 0; plane < n * blocks; ++plane) {
    float* p = x + plane * rows * row;
    int64_t lanes = channels - (plane % blocks) * block; /* of this block inside the tensor */
    if (lanes < 0) lanes = 0;
    for (int64_t h = 0; h < rows; ++h) {
      float* r = p + h * row;
      if (h < top || h >= top + height) {
        fill(r, row, value);
        continue;
      }
      fill(r, left * block, value);
      fill(r + (left + width) * block, row - (left + width) * block, value);
      if (lanes >= block) continue;
      for (int64_t w = left; w < left + width; ++w) fill(r + w * block + lanes, block - lanes, value);
    }
  }
}
