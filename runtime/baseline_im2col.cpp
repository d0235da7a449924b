/// \file The im2col + GEMM baseline: the column matrix is built inside the timed region, as
/// a framework's im2col convolution does it; Eigen runs the GEMM.
#include <Eigen/Core>

#include "runtime/baseline.h"

namespace convtune {

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

class Im2colConv : public Baseline {
public:
  Im2colConv(const Workload& wl, int threads) : wl_(wl), threads_(threads) {
    const int64_t rows = wl.c_per_group() * wl.r * wl.s, cols = wl.p() * wl.q();
    columns_.resize(rows, cols);
    out_.resize(wl.n * wl.k, cols);
  }

  void prepare(const Tensor& input, const Tensor& weights) override {
    input_ = &input;
    weights_.resize(wl_.k, wl_.c_per_group() * wl_.r * wl_.s);
    std::copy(weights.data(), weights.data() + weights.size(), weights_.data());
  }

  void execute() override {
    Eigen::setNbThreads(threads_);
    const int64_t cg = wl_.c_per_group(), kg = wl_.k_per_group(), P = wl_.p(), Q = wl_.q();
    const float* in = input_->data();
    for (int64_t n = 0; n < wl_.n; ++n) {
      for (int64_t g = 0; g < wl_.groups; ++g) {
        // Column matrix: one row per (c, r, s) tap, one column per output pixel.
        for (int64_t c = 0; c < cg; ++c) {
          const float* plane = in + ((n * wl_.c + g * cg + c) * wl_.h) * wl_.w;
          for (int64_t r = 0; r < wl_.r; ++r) {
            for (int64_t s = 0; s < wl_.s; ++s) {
              float* row = columns_.data() + ((c * wl_.r + r) * wl_.s + s) * P * Q;
              for (int64_t p = 0; p < P; ++p) {
                const int64_t ih = p * wl_.stride_h - wl_.pad_top + r * wl_.dilation_h;
                for (int64_t q = 0; q < Q; ++q) {
                  const int64_t iw = q * wl_.stride_w - wl_.pad_left + s * wl_.dilation_w;
                  const bool inside = ih >= 0 && ih < wl_.h && iw >= 0 && iw < wl_.w;
                  row[p * Q + q] = inside ? plane[ih * wl_.w + iw] : 0.0f;
                }
              }
            }
          }
        }
        out_.middleRows(n * wl_.k + g * kg, kg).noalias() = weights_.middleRows(g * kg, kg) * columns_;
      }
    }
  }

  void finish(Tensor& output) override { std::copy(out_.data(), out_.data() + output.size(), output.data()); }
  std::string detail() const override { return "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION); }

private:
  Workload wl_;
  int threads_;
  const Tensor* input_ = nullptr;
  RowMajor weights_, columns_, out_;
};

} // namespace

std::unique_ptr<Baseline> make_im2col_baseline(const Workload& wl, int threads) {
  return std::make_unique<Im2colConv>(wl, threads);
}

} // namespace convtune
