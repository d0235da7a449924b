/// \file The oneDNN baseline: convolution_forward with format `any` everywhere, so oneDNN
/// picks its blocked layouts; the reorders into and out of them happen outside execute().
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/baseline.h"

namespace convtune {

namespace {

using dnnl::memory;

class OneDnnConv : public Baseline {
public:
  OneDnnConv(const Workload& wl, int threads)
      : threads_(threads), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    omp_set_num_threads(threads_);
    const memory::dims src = {wl.n, wl.c, wl.h, wl.w}, dst = {wl.n, wl.k, wl.p(), wl.q()};
    const memory::dims wts = wl.groups > 1 ? memory::dims{wl.groups, wl.k_per_group(), wl.c_per_group(), wl.r, wl.s}
                                           : memory::dims{wl.k, wl.c, wl.r, wl.s};
    const auto f32 = memory::data_type::f32;
    user_src_ = memory({src, f32, memory::format_tag::nchw}, engine_);
    user_wts_ = memory({wts, f32, wl.groups > 1 ? memory::format_tag::goihw : memory::format_tag::oihw}, engine_);
    user_dst_ = memory({dst, f32, memory::format_tag::nchw}, engine_);
    // oneDNN counts dilation from 0 (0 = dense).
    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        memory::desc(src, f32, memory::format_tag::any), memory::desc(wts, f32, memory::format_tag::any),
        memory::desc(dst, f32, memory::format_tag::any), {wl.stride_h, wl.stride_w},
        {wl.dilation_h - 1, wl.dilation_w - 1}, {wl.pad_top, wl.pad_left}, {wl.pad_bottom, wl.pad_right});
    pd_ = dnnl::convolution_forward::primitive_desc(desc, engine_);
    conv_ = dnnl::convolution_forward(pd_);
    src_ = memory(pd_.src_desc(), engine_);
    wts_ = memory(pd_.weights_desc(), engine_);
    dst_ = memory(pd_.dst_desc(), engine_);
  }

  void prepare(const Tensor& input, const Tensor& weights) override {
    omp_set_num_threads(threads_);
    std::copy(input.data(), input.data() + input.size(), static_cast<float*>(user_src_.get_data_handle()));
    std::copy(weights.data(), weights.data() + weights.size(), static_cast<float*>(user_wts_.get_data_handle()));
    dnnl::reorder(user_src_, src_).execute(stream_, user_src_, src_);
    dnnl::reorder(user_wts_, wts_).execute(stream_, user_wts_, wts_);
    stream_.wait();
  }

  void execute() override {
    conv_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, wts_}, {DNNL_ARG_DST, dst_}});
    stream_.wait();
  }

  void finish(Tensor& output) override {
    dnnl::reorder(dst_, user_dst_).execute(stream_, dst_, user_dst_);
    stream_.wait();
    const float* out = static_cast<const float*>(user_dst_.get_data_handle());
    std::copy(out, out + output.size(), output.data());
  }

  std::string detail() const override { return pd_.impl_info_str(); }

private:
  int threads_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward conv_;
  memory user_src_, user_wts_, user_dst_, src_, wts_, dst_;
};

} // namespace

bool onednn_available() { return true; }

std::unique_ptr<Baseline> make_onednn_baseline(const Workload& wl, int threads) {
  return std::make_unique<OneDnnConv>(wl, threads);
}

} // namespace convtune
