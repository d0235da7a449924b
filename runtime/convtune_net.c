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

static inline float activate(const eltwise_args* a, float v) {
  switch (a->activation) {
  case CONVTUNE_ACT_RELU: return v > 0 ? v : 0;
  case CONVTUNE_ACT_CLIP: return v < a->lo ? a->lo : (v > a->hi ? a->hi : v);
  case CONVTUNE_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
  case CONVTUNE_ACT_HARD_SIGMOID: {
    const float h = a->alpha * v + a->beta;
    return h < 0 ? 0 : (h > 1 ? 1 : h);
  }
  case CONVTUNE_ACT_HARD_SWISH: {
    const float h = v / 6.0f + 0.5f;
    return v * (h < 0 ? 0 : (h > 1 ? 1 : h));
  }
  default: return v;
  }
}

static void eltwise_task(void* closure, int64_t begin, int64_t end) {
  const eltwise_args* a = (const eltwise_args*)closure;
  for (int64_t i = begin; i < end; ++i) {  /* i = image * c + channel */
    const int64_t ch = i % a->c;
    const float scale = a->scale ? a->scale[ch] : 1.0f, shift = a->shift ? a->shift[ch] : 0.0f;
    const int affine = a->scale || a->shift;
    const float* x = a->x + i * a->plane;
    float* y = a->y + i * a->plane;
    const float* o = a->other ? (a->other_per_channel ? a->other + i : a->other + i * a->plane) : 0;
    for (int64_t j = 0; j < a->plane; ++j) {
      float v = x[j];
      if (affine) v = v * scale + shift;
      if (a->op != CONVTUNE_BINARY_NONE) {
        const float w = a->other_per_channel ? o[0] : o[j];
        v = a->op == CONVTUNE_BINARY_ADD ? v + w : v * w;
      }
      y[j] = activate(a, v);
    }
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
