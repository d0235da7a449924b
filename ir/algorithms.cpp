/// \file Direct convolution, im2col + GEMM, pooling and the convolution epilogue as descriptions.
#include "ir/algorithms.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>

#include "ir/error.h"
#include "ir/ir_visitor.h"
#include "ir/sparse.h"
#include "ir/winograd.h"

namespace convtune {

namespace {

Expr var(const std::string& name) { return Var::make(name); }

/// `a * factor` and `a + delta`, leaving out what a factor of 1 or an offset of 0 makes idle.
Expr scaled(Expr a, int64_t factor) { return factor == 1 ? a : a * Expr(factor); }
Expr offset(Expr a, int64_t delta) {
  if (delta == 0) return a;
  return delta > 0 ? a + Expr(delta) : a - Expr(-delta);
}

/// `e` held inside [0, extent): the index a gather reads where it selects a zero outside (a
/// select evaluates both sides, so neither may read out of bounds).
Expr clamped(Expr e, int64_t extent) { return max(min(e, Expr(extent - 1)), Expr(0)); }

/// The window arithmetic every sliding-window algorithm shares: the input row `ih` and column
/// `iw` a tap (r, s) of output point (p, q) reads, and the guard of the sides it can cross
/// (the highest row a tap reads is (P-1)*stride + (R-1)*dilation - pad_top).
struct Window {
  std::vector<LetBinding> lets;
  Expr inside;  ///< undefined when no tap can fall in the padding
};

Window window(const Workload& wl) {
  Window win;
  Expr ih = var("ih"), iw = var("iw");
  win.lets = {{"ih", offset(scaled(var("p"), wl.stride_h) + scaled(var("r"), wl.dilation_h), -wl.pad_top)},
              {"iw", offset(scaled(var("q"), wl.stride_w) + scaled(var("s"), wl.dilation_w), -wl.pad_left)}};
  std::vector<Expr> guards;
  if (wl.pad_top > 0) guards.push_back(ih >= Expr(0));
  if ((wl.p() - 1) * wl.stride_h + (wl.r - 1) * wl.dilation_h - wl.pad_top >= wl.h) guards.push_back(ih < Expr(wl.h));
  if (wl.pad_left > 0) guards.push_back(iw >= Expr(0));
  if ((wl.q() - 1) * wl.stride_w + (wl.s - 1) * wl.dilation_w - wl.pad_left >= wl.w) guards.push_back(iw < Expr(wl.w));
  win.inside = all_of(guards);
  return win;
}

AlgorithmStage make_stage(std::string name, std::vector<Dim> dims, BufferRef buffer, std::vector<Expr> index, Expr init,
                          std::optional<Update> update) {
  AlgorithmStage s;
  s.name = std::move(name);
  s.dims = std::move(dims);
  s.buffer = std::move(buffer);
  s.index = std::move(index);
  s.init = std::move(init);
  s.update = std::move(update);
  return s;
}

BufferRef param(const std::string& name, std::vector<int64_t> shape) {
  return make_buffer(name, std::move(shape), MemoryScope::Param);
}
BufferRef temporary(const std::string& name, std::vector<int64_t> shape) {
  return make_buffer(name, std::move(shape), MemoryScope::Heap);
}

/// The parameters of a convolution: input, weights, then the epilogue's operands, then output.
std::vector<NestParam> conv_params(const Workload& wl) {
  std::vector<NestParam> params = {{param("input", {wl.n, wl.c, wl.h, wl.w}), "NCHW", false},
                                   {param("weights", {wl.k, wl.c_per_group(), wl.r, wl.s}), "KCRS", false}};
  if (wl.has_bias()) params.push_back({param("bias", {wl.k}), "K", false});
  if (wl.has_residual()) params.push_back({param("residual", {wl.n, wl.k, wl.p(), wl.q()}), "NKPQ", false});
  params.push_back({param("output", {wl.n, wl.k, wl.p(), wl.q()}), "NKPQ", true});
  return params;
}

const BufferRef& param_named(const std::vector<NestParam>& params, const std::string& name) {
  const NestParam* p = find_param(params, name);
  internal_check(p != nullptr, "no parameter " + name);
  return p->buffer;
}

/// Where a convolution's sums go: the output, or the temporary `conv` when an epilogue follows.
BufferRef conv_result(const Workload& wl, const std::vector<NestParam>& params) {
  if (!wl.has_bias()) return param_named(params, "output");
  return temporary("conv", {wl.n, wl.k, wl.p(), wl.q()});
}

/// output = conv + bias[k] (+ residual), then ReLU or ReLU6 when the epilogue has one.
/// `sums`: the output point (n, k, p, q)'s sums (default: conv there).
AlgorithmStage epilogue_stage(const Workload& wl, const std::vector<NestParam>& params, const BufferRef& conv, Expr sums = Expr()) {
  Expr n = var("n"), k = var("k"), p = var("p"), q = var("q");
  Expr value = (sums.defined() ? sums : Load::make(conv, {n, k, p, q})) + Load::make(param_named(params, "bias"), {k});
  if (wl.has_residual()) value = value + Load::make(param_named(params, "residual"), {n, k, p, q});
  const std::string activation = wl.epilogue_activation();
  if (!activation.empty()) value = max(value, FloatImm::make(0.0));
  if (activation == "relu6") value = min(value, FloatImm::make(6.0));
  AlgorithmStage s;
  s.name = "epilogue";
  s.dims = {{"n", wl.n}, {"k", wl.k}, {"p", wl.p()}, {"q", wl.q()}};
  s.buffer = param_named(params, "output");
  s.index = {n, k, p, q};
  s.init = value;
  return s;
}

/// The pure dimensions of a convolution's result and its absolute channels.
std::vector<Dim> conv_dims(const Workload& wl) {
  std::vector<Dim> dims = {{"n", wl.n}};
  if (wl.groups > 1) dims.push_back({"g", wl.groups});
  for (Dim d : std::vector<Dim>{{"k", wl.k_per_group()}, {"p", wl.p()}, {"q", wl.q()}}) dims.push_back(d);
  return dims;
}
Expr absolute(const Workload& wl, const char* channel, int64_t per_group) {
  return wl.groups == 1 ? var(channel) : var("g") * Expr(per_group) + var(channel);
}

/// A convolution algorithm's frame: its name and main stage, its parameters.
Algorithm conv_algorithm(const Workload& wl, const char* name, const char* main_stage) {
  wl.validate();
  internal_check(wl.is_conv(), std::string(name) + " of " + wl.op);
  Algorithm alg;
  alg.name = name;
  alg.main_stage = main_stage;
  alg.params = conv_params(wl);
  return alg;
}

Algorithm finish_conv(Algorithm alg, const Workload& wl, const BufferRef& result) {
  if (wl.has_bias()) alg.stages.push_back(epilogue_stage(wl, alg.params, result));
  return alg;
}

/// The main stage of a direct convolution into `result`: pure n, (g,) k, p, q; the update
/// sums `value` over c, r, s (the caller adds its lets and guard).
AlgorithmStage direct_conv_stage(const Workload& wl, const BufferRef& result, Expr value) {
  AlgorithmStage conv;
  conv.name = "conv";
  conv.dims = conv_dims(wl);
  conv.buffer = result;
  conv.index = {var("n"), absolute(wl, "k", wl.k_per_group()), var("p"), var("q")};
  conv.init = FloatImm::make(0.0);
  Update u;
  u.rdims = {{"c", wl.c_per_group()}, {"r", wl.r}, {"s", wl.s}};
  u.value = std::move(value);
  conv.update = u;
  // Past a group's last channel lie the next group's: a tail there is never harmless.
  if (wl.groups > 1) conv.exact_dims = {"k", "c"};
  else conv.reserved_names = {"g"};
  return conv;
}

} // namespace

Algorithm direct_conv(const Workload& wl) {
  Algorithm alg = conv_algorithm(wl, "direct_conv", "conv");
  const BufferRef result = conv_result(wl, alg.params);
  Expr n = var("n"), c = var("c"), r = var("r"), s = var("s");
  Expr k_abs = absolute(wl, "k", wl.k_per_group()), c_abs = absolute(wl, "c", wl.c_per_group());
  const Window win = window(wl);
  AlgorithmStage conv = direct_conv_stage(wl, result,
                                          Load::make(param_named(alg.params, "input"), {n, c_abs, var("ih"), var("iw")}) *
                                              Load::make(param_named(alg.params, "weights"), {k_abs, c, r, s}));
  conv.update->lets = win.lets;
  conv.update->guard = win.inside;
  conv.update->boundary = param_named(alg.params, "input");
  alg.stages.push_back(conv);
  return finish_conv(alg, wl, result);
}

Algorithm direct_conv_staged(const Workload& wl) {
  Algorithm alg = conv_algorithm(wl, "direct_conv_staged", "conv");
  // The weights as rows of a filter's C/g x R x S taps (the KCRS tensor's bytes): a block's
  // slice of taps is then one contiguous run, which a GPU fill reads in vector loads.
  const int64_t taps = wl.c_per_group() * wl.r * wl.s;
  for (NestParam& p : alg.params) {
    if (p.buffer->name == "weights") p = {param("weights", {wl.k, taps}), "K(CRS)", false};
  }
  const BufferRef result = conv_result(wl, alg.params);
  const BufferRef input = param_named(alg.params, "input"), weights = param_named(alg.params, "weights");
  Expr n = var("n"), c = var("c"), h = var("h"), w = var("w");
  // Every row and column a tap reads, the padding included: no tap needs a guard.
  const int64_t rows = wl.rows_read(wl.p()), cols = wl.cols_read(wl.q());
  const BufferRef padded = temporary("input_padded", {wl.n, wl.c, rows, cols});
  Expr ih = offset(h, -wl.pad_top), iw = offset(w, -wl.pad_left);
  AlgorithmStage pad = make_stage("input_padded", {{"n", wl.n}, {"c", wl.c}, {"h", rows}, {"w", cols}}, padded, {n, c, h, w},
                                  Select::make(all_of({ih >= Expr(0), ih < Expr(wl.h), iw >= Expr(0), iw < Expr(wl.w)}),
                                               Load::make(input, {n, c, clamped(ih, wl.h), clamped(iw, wl.w)}), FloatImm::make(0.0)),
                                  std::nullopt);
  pad.kind = StageKind::PackInput;
  alg.stages.push_back(pad);

  Expr k = var("k"), r = var("r"), s = var("s"), tap = var("tap");
  const BufferRef copy = temporary("weights_staged", {wl.k, taps});
  AlgorithmStage wcopy = make_stage("weights_staged", {{"k", wl.k}, {"tap", taps}}, copy, {k, tap},
                                    Load::make(weights, {k, tap}), std::nullopt);
  wcopy.kind = StageKind::PackWeights;
  alg.stages.push_back(wcopy);

  Expr p = var("p"), q = var("q");
  Expr k_abs = absolute(wl, "k", wl.k_per_group()), c_abs = absolute(wl, "c", wl.c_per_group());
  alg.stages.push_back(direct_conv_stage(
      wl, result,
      Load::make(padded, {n, c_abs, scaled(p, wl.stride_h) + scaled(r, wl.dilation_h), scaled(q, wl.stride_w) + scaled(s, wl.dilation_w)}) *
          Load::make(copy, {k_abs, (c * Expr(wl.r) + r) * Expr(wl.s) + s})));
  return finish_conv(alg, wl, result);
}

Algorithm im2col_gemm(const Workload& wl) {
  Algorithm alg = conv_algorithm(wl, "im2col_gemm", "gemm");
  const BufferRef result = conv_result(wl, alg.params);
  const int64_t rows = wl.c_per_group() * wl.r * wl.s, cols = wl.p() * wl.q();
  Expr n = var("n"), g = wl.groups > 1 ? var("g") : Expr(0), p = var("p"), q = var("q");
  const BufferRef columns = temporary("columns", {wl.n, wl.groups, rows, cols});

  // columns[n][g][(c*R + r)*S + s][p*Q + q] = input tap, or 0 in the padding: a layout of the
  // input, like a packing. The load's indices are clamped: a select evaluates both sides.
  const Window win = window(wl);
  Expr ih = win.lets[0].second, iw = win.lets[1].second;
  Expr c_abs = absolute(wl, "c", wl.c_per_group());
  AlgorithmStage gather;
  gather.name = "columns";
  gather.kind = StageKind::PackInput;
  gather.dims = {{"n", wl.n}};
  if (wl.groups > 1) gather.dims.push_back({"g", wl.groups});
  for (Dim d : std::vector<Dim>{{"c", wl.c_per_group()}, {"r", wl.r}, {"s", wl.s}, {"p", wl.p()}, {"q", wl.q()}}) {
    gather.dims.push_back(d);
  }
  gather.buffer = columns;
  gather.index = {n, g, (var("c") * Expr(wl.r) + var("r")) * Expr(wl.s) + var("s"), p * Expr(wl.q()) + q};
  const BufferRef& input = param_named(alg.params, "input");
  if (!win.inside.defined()) {
    gather.init = Load::make(input, {n, c_abs, ih, iw});
  } else {
    // The window's guard, on the tap's coordinates themselves (a pure stage has no lets).
    Expr inside = substitute(substitute(win.inside, "ih", ih), "iw", iw);
    gather.init = Select::make(inside, Load::make(input, {n, c_abs, clamped(ih, wl.h), clamped(iw, wl.w)}), FloatImm::make(0.0));
  }
  // Past its extent, each of these reaches the next point of the flattened index (s the next
  // r, r the next c, q the next p): a split tail of them must never write.
  gather.exact_dims = {"r", "s", "q"};
  alg.stages.push_back(gather);

  // result[n][g*Kg + k][col / Q][col % Q] = sum over rows of weights[g*Kg + k][row] *
  // columns[n][g][row][col]: a GEMM per image and group, rows the reduction.
  Expr row = var("row"), col = var("col"), k_abs = absolute(wl, "k", wl.k_per_group());
  AlgorithmStage gemm;
  gemm.name = "gemm";
  gemm.dims = {{"n", wl.n}};
  if (wl.groups > 1) gemm.dims.push_back({"g", wl.groups});
  gemm.dims.push_back({"k", wl.k_per_group()});
  gemm.dims.push_back({"col", cols});
  gemm.buffer = result;
  gemm.index = {n, k_abs, col / Expr(wl.q()), col % Expr(wl.q())};
  gemm.init = FloatImm::make(0.0);
  Update u;
  u.rdims = {{"row", rows}};
  u.value = Load::make(param_named(alg.params, "weights"),
                       {k_abs, row / Expr(wl.r * wl.s), row / Expr(wl.s) % Expr(wl.r), row % Expr(wl.s)}) *
            Load::make(columns, {n, g, row, col});
  gemm.update = u;
  if (wl.groups > 1) gemm.exact_dims = {"k"};
  alg.stages.push_back(gemm);
  return finish_conv(alg, wl, result);
}

namespace {

/// winograd_fM or winograd_fM_cB as (m, B), B 0 when absent; nullopt for another name.
std::optional<std::pair<int, int64_t>> winograd_of(const std::string& name) {
  for (int m : winograd_tiles()) {
    const std::string base = "winograd_f" + std::to_string(m);
    if (name == base) return std::make_pair(m, int64_t(0));
    const std::string prefix = base + "_c";
    if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size() || name.size() > prefix.size() + 4) continue;
    if (name.find_first_not_of("0123456789", prefix.size()) != std::string::npos) continue;
    const int64_t block = std::stoll(name.substr(prefix.size()));
    if (block > 0) return std::make_pair(m, block);
  }
  return std::nullopt;
}

} // namespace

int winograd_tile_of(const std::string& name) {
  const auto w = winograd_of(name);
  return w ? w->first : 0;
}

int64_t winograd_channel_block_of(const std::string& name) {
  const auto w = winograd_of(name);
  return w ? w->second : 0;
}

bool winograd_applies(const Workload& wl) {
  return wl.is_conv() && wl.r == 3 && wl.s == 3 && wl.stride_h == 1 && wl.stride_w == 1 && wl.dilation_h == 1 && wl.dilation_w == 1;
}

Algorithm winograd(const Workload& wl, int m, int64_t channel_block) {
  const std::string name = "winograd_f" + std::to_string(m) + (channel_block > 0 ? "_c" + std::to_string(channel_block) : "");
  Algorithm alg = conv_algorithm(wl, name.c_str(), "products");
  if (!winograd_applies(wl)) {
    throw UserError("algorithm '" + name + "' needs a 3x3 convolution with stride 1 and dilation 1; " + wl.spec() + " is not one");
  }
  const int64_t cg = wl.c_per_group();
  if (channel_block > 0 && wl.groups > 1 && cg % channel_block != 0) {
    throw UserError("algorithm '" + name + "' rounds the input channels up to a multiple of " + std::to_string(channel_block) +
                    ", which a grouped convolution cannot (" + std::to_string(cg) + " channels a group)");
  }
  // The input transform's channels: a whole number of blocks.
  const int64_t c_transformed = channel_block > 0 ? (cg + channel_block - 1) / channel_block * channel_block : cg;
  const WinogradMatrices& wm = winograd_matrices(m);
  const int64_t alpha = wm.alpha, tiles_h = (wl.p() + m - 1) / m, tiles_w = (wl.q() + m - 1) / m, tiles = tiles_h * tiles_w;
  const int64_t kg = wl.k_per_group();
  const auto table = [](const std::string& table_name, const std::vector<std::vector<double>>& rows) {
    std::vector<double> flat;
    for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
    return make_constant(table_name, {int64_t(rows.size()), int64_t(rows[0].size())}, flat);
  };
  const BufferRef bt = table("winograd_bt", wm.bt), g_matrix = table("winograd_g", wm.g), at = table("winograd_at", wm.at);
  const BufferRef result = conv_result(wl, alg.params);
  const BufferRef& input = param_named(alg.params, "input");
  const BufferRef& weights = param_named(alg.params, "weights");
  Expr n = var("n"), g = wl.groups > 1 ? var("g") : Expr(0), k = var("k"), c = var("c"), t = var("t");
  Expr xi = var("xi"), nu = var("nu"), i = var("i"), j = var("j"), p = var("p"), q = var("q");
  Expr k_abs = absolute(wl, "k", kg), c_abs = absolute(wl, "c", cg);
  const auto with_group = [&](std::vector<Dim> dims) {
    if (wl.groups > 1) dims.insert(dims.begin() + 1, Dim{"g", wl.groups});
    return dims;
  };

  // The layouts put the channels innermost: U[xi][nu][c][k] and M[n][g][xi][nu][t][k] along
  // the output channels the GEMMs and the output transform vectorize, V[n][g][xi][nu][t][c]
  // along the input channels the input transform vectorizes (the GEMMs broadcast it).
  // U[k][c] = G w[k][c] G^T, once per set of weights (at pack time).
  const BufferRef u_buffer = temporary("weights_transformed", {alpha, alpha, cg, wl.k});
  Update wu;
  wu.rdims = {{"i", 3}, {"j", 3}};
  wu.value = Load::make(g_matrix, {xi, i}) * Load::make(g_matrix, {nu, j}) * Load::make(weights, {k, c, i, j});
  alg.stages.push_back(make_stage("weights_transformed", {{"k", wl.k}, {"c", cg}, {"xi", alpha}, {"nu", alpha}}, u_buffer,
                                  {xi, nu, c, k}, FloatImm::make(0.0), wu));
  alg.stages.back().kind = StageKind::PackWeights;

  // V[n][c][t] = BT d BT^T over the tile t's alpha x alpha inputs, 0 in the padding and past
  // the image (the last tiles' spare outputs are never written back).
  const BufferRef v_buffer = temporary("input_transformed", {wl.n, wl.groups, alpha, alpha, tiles, c_transformed});
  Update iu;
  iu.rdims = {{"i", alpha}, {"j", alpha}};
  iu.lets = {{"ih", offset(t / Expr(tiles_w) * Expr(m) + i, -wl.pad_top)}, {"iw", offset(t % Expr(tiles_w) * Expr(m) + j, -wl.pad_left)}};
  Expr ih = var("ih"), iw = var("iw");
  std::vector<Expr> inside;
  if (wl.pad_top > 0) inside.push_back(ih >= Expr(0));
  if ((tiles_h - 1) * m + alpha - 1 - wl.pad_top >= wl.h) inside.push_back(ih < Expr(wl.h));
  if (wl.pad_left > 0) inside.push_back(iw >= Expr(0));
  if ((tiles_w - 1) * m + alpha - 1 - wl.pad_left >= wl.w) inside.push_back(iw < Expr(wl.w));
  if (c_transformed > cg) inside.push_back(c < Expr(cg));  // the rounded-up channels read zeros
  iu.guard = all_of(inside);
  iu.boundary = input;
  iu.value = Load::make(bt, {xi, i}) * Load::make(bt, {nu, j}) * Load::make(input, {n, c_abs, ih, iw});
  alg.stages.push_back(make_stage("input_transformed", with_group({{"n", wl.n}, {"c", c_transformed}, {"t", tiles}, {"xi", alpha}, {"nu", alpha}}),
                                  v_buffer, {n, g, xi, nu, t, c}, FloatImm::make(0.0), iu));

  // M[n][k][t] = sum over c of U[k][c] . V[n][c][t]: alpha^2 independent GEMMs (the main stage).
  const BufferRef m_buffer = temporary("products", {wl.n, wl.groups, alpha, alpha, tiles, kg});
  Update pu;
  pu.rdims = {{"c", cg}};
  pu.value = Load::make(u_buffer, {xi, nu, c, k_abs}) * Load::make(v_buffer, {n, g, xi, nu, t, c});
  AlgorithmStage products = make_stage("products", with_group({{"n", wl.n}, {"k", kg}, {"t", tiles}, {"xi", alpha}, {"nu", alpha}}),
                                       m_buffer, {n, g, xi, nu, t, k}, FloatImm::make(0.0), pu);
  if (wl.groups > 1) products.exact_dims = {"k", "c"};
  else products.reserved_names = {"g"};
  alg.stages.push_back(products);

  // Y[n][k][p][q] = (AT M[n][k][t] AT^T) at (p % m, q % m) of the tile t holding (p, q).
  Update ou;
  ou.rdims = {{"xi", alpha}, {"nu", alpha}};
  ou.value = Load::make(at, {p % Expr(m), xi}) * Load::make(at, {q % Expr(m), nu}) *
             Load::make(m_buffer, {n, g, xi, nu, p / Expr(m) * Expr(tiles_w) + q / Expr(m), k});
  alg.stages.push_back(make_stage("output_transformed", conv_dims(wl), result, {n, k_abs, p, q}, FloatImm::make(0.0), ou));
  return finish_conv(alg, wl, result);
}

/// A sparse kernel's tap tables: for each row (an output channel, or a block of them) and block
/// of `channels_per_block` input channels, its taps ((c * R + r) * S + s, ascending) padded to
/// the longest list with the block's first tap (whose value the kernel zeroes); as index tables
/// `sparse_tap`, `sparse_offset` (offset_of(c, r, s): where the tap reads the kernel's input
/// copy) and `sparse_length` (each list's own length), shaped [rows][blocks][longest].
struct TapTables {
  int64_t blocks = 0, longest = 1;
  BufferRef tap, offset, length;
};
TapTables tap_tables(const Workload& wl, const std::vector<std::vector<int32_t>>& rows, int64_t channels_per_block,
                     const std::function<int64_t(int64_t c, int64_t r, int64_t s)>& offset_of) {
  TapTables t;
  const int64_t taps_per_block = channels_per_block * wl.r * wl.s;
  t.blocks = (wl.c_per_group() + channels_per_block - 1) / channels_per_block;
  std::vector<std::vector<std::vector<int32_t>>> lists(rows.size(), std::vector<std::vector<int32_t>>(size_t(t.blocks)));
  for (size_t i = 0; i < rows.size(); ++i) {
    for (int32_t tap : rows[i]) {
      auto& list = lists[i][size_t(tap / taps_per_block)];
      list.push_back(tap);
      t.longest = std::max<int64_t>(t.longest, int64_t(list.size()));
    }
  }
  std::vector<int64_t> taps, offsets, lengths;
  for (const auto& row : lists) {
    for (int64_t b = 0; b < t.blocks; ++b) {
      const auto& list = row[size_t(b)];
      lengths.push_back(int64_t(list.size()));
      for (int64_t j = 0; j < t.longest; ++j) {
        const int64_t tap = j < int64_t(list.size()) ? list[size_t(j)] : b * taps_per_block;
        taps.push_back(tap);
        offsets.push_back(offset_of(tap / (wl.r * wl.s), tap / wl.s % wl.r, tap % wl.s));
      }
    }
  }
  const std::vector<int64_t> shape = {int64_t(rows.size()), t.blocks, t.longest};
  t.tap = make_index_table("sparse_tap", shape, taps);
  t.offset = make_index_table("sparse_offset", shape, offsets);
  t.length = make_index_table("sparse_length", {int64_t(rows.size()), t.blocks}, lengths);
  return t;
}

int64_t sparse_channel_block_of(const std::string& name) {
  if (name == "sparse_direct") return 0;
  const std::string prefix = "sparse_direct_c";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size() || name.size() > prefix.size() + 9) return -1;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
  }
  const int64_t block = std::stoll(name.substr(prefix.size()));
  return block > 0 ? block : -1;
}

Algorithm sparse_direct(const Workload& wl, int64_t channel_block) {
  const int64_t cg = wl.c_per_group();
  const int64_t block = channel_block <= 0 || channel_block >= cg ? cg : channel_block;
  const std::string name = block == cg ? "sparse_direct" : "sparse_direct_c" + std::to_string(block);
  Algorithm alg = conv_algorithm(wl, name.c_str(), "conv");
  if (!wl.weights.given()) {
    throw UserError("algorithm '" + name + "' needs the layer's weights (--weights FILE or --sparsity F); " + wl.spec() + " has none");
  }
  const SparsePattern& pattern = sparse_pattern_of(wl);
  // The sums go to `conv`, its rows widened to whole vectors of 16 columns: a row narrower than
  // a vector (7, 14) is computed whole in one, rather than in a vector of an odd length, and
  // the columns past the row are dropped when the epilogue (or a copy) writes the output.
  const int64_t wide_q = (wl.q() + 15) / 16 * 16;
  const BufferRef result = temporary("conv", {wl.n, wl.k, wl.p(), wide_q});
  // The input's copy the kernel reads: zero-padded, one copy of every padded row per tap
  // column s (shifted[n][c][h][s][x] = padded[h][x * stride_w + s * dilation_w]), so that a
  // tap's columns are one contiguous vector along the output columns q at any stride and
  // dilation, and start on a cache line: rows are whole vectors of 16 (wider tiles' tails grow
  // them, compiler/storage). (c, h, s) are one dimension, so a tap is one offset into it: the
  // kernel loads one table entry a nonzero, not one per coordinate. Reading from copies costs
  // S times the input's packing; unaligned reads at shifted columns split cache lines and
  // halved the loads a cycle (C6 at 90%: 0.55 ms from one copy).
  const int64_t padded_h = wl.h + wl.pad_top + wl.pad_bottom, row = wide_q;
  // Each output channel's taps per channel block.
  const TapTables tables = tap_tables(wl, pattern.rows, block, [&](int64_t c, int64_t r, int64_t s) {
    return (c * padded_h + r * wl.dilation_h) * wl.s + s;
  });
  const int64_t blocks = tables.blocks, longest = tables.longest;
  const BufferRef &offset_of = tables.offset, &length = tables.length, &tap_of = tables.tap;
  Expr n = var("n"), k = var("k"), cb = var("cb"), j = var("j"), k_abs = absolute(wl, "k", wl.k_per_group());
  const BufferRef& weights = param_named(alg.params, "weights");
  const BufferRef& input = param_named(alg.params, "input");

  // values[k][cb][j] = the weight at the j-th tap of row k's block cb; 0 past the list's end
  // (a select: both sides are read, and the padding's tap is inside the weights).
  const BufferRef values = temporary("sparse_weights", {wl.k, blocks, longest});
  Expr tap = Load::make(tap_of, {k, cb, j});
  alg.stages.push_back(make_stage("sparse_weights", {{"k", wl.k}, {"cb", blocks}, {"j", longest}}, values, {k, cb, j},
                                  Select::make(j < Load::make(length, {k, cb}),
                                               Load::make(weights, {k, tap / Expr(wl.r * wl.s), tap / Expr(wl.s) % Expr(wl.r), tap % Expr(wl.s)}),
                                               FloatImm::make(0.0)),
                                  std::nullopt));
  alg.stages.back().kind = StageKind::PackWeights;

  const int64_t rows_per_channel = padded_h * wl.s;
  const BufferRef shifted = temporary("input_shifted", {wl.n, wl.c * rows_per_channel, row});
  Expr h = var("h"), s = var("s"), x = var("x"), c = var("c");
  Expr ih = offset(h, -wl.pad_top), iw = offset(scaled(x, wl.stride_w) + scaled(s, wl.dilation_w), -wl.pad_left);
  Expr inside = ih >= Expr(0) && ih < Expr(wl.h) && iw >= Expr(0) && iw < Expr(wl.w);
  alg.stages.push_back(make_stage("input_shifted", {{"n", wl.n}, {"c", wl.c}, {"h", padded_h}, {"s", wl.s}, {"x", row}}, shifted,
                                  {n, (c * Expr(padded_h) + h) * Expr(wl.s) + s, x},
                                  Select::make(inside, Load::make(input, {n, c, clamped(ih, wl.h), clamped(iw, wl.w)}), FloatImm::make(0.0)),
                                  std::nullopt));
  alg.stages.back().kind = StageKind::PackInput;

  AlgorithmStage conv;
  conv.name = "conv";
  conv.dims = conv_dims(wl);
  conv.dims.back().extent = wide_q;
  conv.buffer = result;
  conv.index = {n, k_abs, var("p"), var("q")};
  conv.init = FloatImm::make(0.0);
  Update u;
  // Each row's list runs only to its own length (the padding's zeros are not summed).
  u.rdims = {{"cb", blocks}, {"j", longest, Load::make(length, {k_abs, cb})}};
  Expr tap_rows = Load::make(offset_of, {k_abs, cb, j}) + scaled(var("p"), wl.stride_h * wl.s);
  if (wl.groups > 1) tap_rows = var("g") * Expr(cg * rows_per_channel) + tap_rows;
  u.value = Load::make(values, {k_abs, cb, j}) * Load::make(shifted, {n, tap_rows, var("q")});
  conv.update = u;
  if (wl.groups > 1) conv.exact_dims = {"k"};
  else conv.reserved_names = {"g"};
  alg.stages.push_back(conv);
  if (wl.has_bias()) return finish_conv(alg, wl, result);
  const BufferRef& output = param_named(alg.params, "output");
  Expr p = var("p"), q = var("q");
  alg.stages.push_back(make_stage("crop", {{"n", wl.n}, {"k", wl.k}, {"p", wl.p()}, {"q", wl.q()}}, output, {n, k, p, q},
                                  Load::make(result, {n, k, p, q}), std::nullopt));
  return alg;
}

Algorithm sparse_blocked(const Workload& wl, int64_t block, int64_t channel_block) {
  const std::string name = "sparse_blocked_k" + std::to_string(block) + (channel_block > 0 && channel_block < wl.c ? "_c" + std::to_string(channel_block) : "");
  Algorithm alg = conv_algorithm(wl, name.c_str(), "conv");
  if (!wl.weights.given()) {
    throw UserError("algorithm '" + name + "' needs the layer's weights (--weights FILE or --sparsity F); " + wl.spec() + " has none");
  }
  if (wl.groups != 1 || block < 1) throw UserError("algorithm '" + name + "' is for ungrouped convolutions: " + wl.spec());
  const SparsePattern& pattern = sparse_pattern_of(wl);
  const int64_t cb_size = channel_block <= 0 || channel_block >= wl.c ? wl.c : channel_block;
  const int64_t k_blocks = (wl.k + block - 1) / block;
  // Each block of output channels' taps per channel block: the union of its channels' taps
  // (a channel lacking one gets a zero value there).
  const std::vector<std::vector<int32_t>> unions = pattern.block_unions(block);
  // The input's copy: zero-padded, its (channel, row, column) flattened, so a tap is one
  // offset (c * padded_h + r * dilation_h) * padded_w + s * dilation_w; the kernel reads
  // single values (broadcast over the block's output channels), so no alignment is needed.
  const int64_t padded_h = wl.h + wl.pad_top + wl.pad_bottom, padded_w = wl.w + wl.pad_left + wl.pad_right;
  const TapTables tables = tap_tables(wl, unions, cb_size, [&](int64_t c, int64_t r, int64_t s) {
    return (c * padded_h + r * wl.dilation_h) * padded_w + s * wl.dilation_w;
  });
  const int64_t c_blocks = tables.blocks, longest = tables.longest;
  const BufferRef &offset_of = tables.offset, &length = tables.length, &tap_of = tables.tap;
  Expr n = var("n"), kb = var("kb"), ki = var("ki"), cb = var("cb"), j = var("j"), p = var("p"), q = var("q");
  const BufferRef& weights = param_named(alg.params, "weights");
  const BufferRef& input = param_named(alg.params, "input");

  // values[kb][cb][j][ki] = channel kb * B + ki's weight at the j-th tap of the block's list;
  // 0 past the list's end and past the last channel.
  const BufferRef values = temporary("sparse_weights", {k_blocks, c_blocks, longest, block});
  Expr tap = Load::make(tap_of, {kb, cb, j}), k = kb * Expr(block) + ki;
  alg.stages.push_back(make_stage(
      "sparse_weights", {{"kb", k_blocks}, {"cb", c_blocks}, {"j", longest}, {"ki", block}}, values, {kb, cb, j, ki},
      Select::make(j < Load::make(length, {kb, cb}) && k < Expr(wl.k),
                   Load::make(weights, {clamped(k, wl.k), tap / Expr(wl.r * wl.s), tap / Expr(wl.s) % Expr(wl.r), tap % Expr(wl.s)}),
                   FloatImm::make(0.0)),
      std::nullopt));
  alg.stages.back().kind = StageKind::PackWeights;

  const BufferRef padded = temporary("input_flat", {wl.n, wl.c * padded_h * padded_w});
  Expr c = var("c"), h = var("h"), x = var("x");
  Expr ih = offset(h, -wl.pad_top), iw = offset(x, -wl.pad_left);
  Expr inside = ih >= Expr(0) && ih < Expr(wl.h) && iw >= Expr(0) && iw < Expr(wl.w);
  alg.stages.push_back(make_stage("input_flat", {{"n", wl.n}, {"c", wl.c}, {"h", padded_h}, {"x", padded_w}}, padded,
                                  {n, (c * Expr(padded_h) + h) * Expr(padded_w) + x},
                                  Select::make(inside, Load::make(input, {n, c, clamped(ih, wl.h), clamped(iw, wl.w)}), FloatImm::make(0.0)),
                                  std::nullopt));
  alg.stages.back().kind = StageKind::PackInput;

  // The sums, blocked: conv[n][kb][p][q][ki] (a vector of the block's channels at a point).
  const BufferRef result = temporary("conv", {wl.n, k_blocks, wl.p(), wl.q(), block});
  AlgorithmStage conv;
  conv.name = "conv";
  conv.dims = {{"n", wl.n}, {"kb", k_blocks}, {"p", wl.p()}, {"q", wl.q()}, {"ki", block}};
  conv.buffer = result;
  conv.index = {n, kb, p, q, ki};
  conv.init = FloatImm::make(0.0);
  Update u;
  u.rdims = {{"cb", c_blocks}, {"j", longest, Load::make(length, {kb, cb})}};
  Expr at = Load::make(offset_of, {kb, cb, j}) + scaled(p, wl.stride_h * padded_w) + scaled(q, wl.stride_w);
  u.value = Load::make(values, {kb, cb, j, ki}) * Load::make(padded, {n, at});
  conv.update = u;
  conv.reserved_names = {"g"};
  alg.stages.push_back(conv);
  // The output stage reads channel k's sums in its block.
  Expr ko = var("k");
  const std::vector<Expr> sums_at = {n, ko / Expr(block), p, q, ko % Expr(block)};
  if (wl.has_bias()) {
    alg.stages.push_back(epilogue_stage(wl, alg.params, result, Load::make(result, sums_at)));
    return alg;
  }
  const BufferRef& output = param_named(alg.params, "output");
  alg.stages.push_back(make_stage("crop", {{"n", wl.n}, {"k", wl.k}, {"p", wl.p()}, {"q", wl.q()}}, output, {n, ko, p, q},
                                  Load::make(result, sums_at), std::nullopt));
  return alg;
}

std::optional<std::pair<int64_t, int64_t>> sparse_blocked_of(const std::string& name) {
  const std::string base = "sparse_blocked_k";
  if (name.rfind(base, 0) != 0) return std::nullopt;
  size_t at = base.size(), end = at;
  while (end < name.size() && end < at + 6 && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
  if (end == at) return std::nullopt;
  const int64_t block = std::stoll(name.substr(at, end - at));
  int64_t channels = 0;
  if (end < name.size()) {
    if (name.compare(end, 2, "_c") != 0 || name.size() == end + 2 || name.size() > end + 11) return std::nullopt;
    for (size_t i = end + 2; i < name.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(name[i]))) return std::nullopt;
    }
    channels = std::stoll(name.substr(end + 2));
    if (channels <= 0) return std::nullopt;
  }
  if (block <= 0) return std::nullopt;
  return std::make_pair(block, channels);
}

Algorithm pooling(const Workload& wl) {
  wl.validate();
  internal_check(wl.is_pool(), "pooling of " + wl.op);
  Algorithm alg;
  alg.name = wl.op;
  alg.main_stage = wl.op == "maxpool" ? "max" : "sum";
  alg.params = {{param("input", {wl.n, wl.c, wl.h, wl.w}), "NCHW", false},
                {param("output", {wl.n, wl.c, wl.p(), wl.q()}), "NCHW", true}};
  const BufferRef& output = alg.params[1].buffer;
  Expr n = var("n"), c = var("c"), p = var("p"), q = var("q");
  const std::vector<Dim> dims = {{"n", wl.n}, {"c", wl.c}, {"p", wl.p()}, {"q", wl.q()}};
  const Window win = window(wl);
  Update taps;
  taps.rdims = {{"r", wl.r}, {"s", wl.s}};
  taps.lets = win.lets;
  taps.guard = win.inside;
  taps.value = Load::make(alg.params[0].buffer, {n, c, var("ih"), var("iw")});
  taps.boundary = alg.params[0].buffer;

  if (wl.op == "maxpool") {
    // Every window holds an input tap (validate() sees to it), so -inf never survives.
    taps.op = ReduceOp::Max;
    alg.stages.push_back(make_stage("max", dims, output, {n, c, p, q}, FloatImm::make(-std::numeric_limits<double>::infinity()), taps));
    return alg;
  }
  // The count first: it does not need the sums, and the average then follows the sums it
  // reads, where a schedule can compute it in their unpacking.
  Expr divisor = FloatImm::make(double(wl.r * wl.s));
  if (!wl.count_include_pad && taps.guard.defined()) {
    // How many taps of each window fall inside the input: the same for every n and c.
    const BufferRef count = temporary("count", {wl.p(), wl.q()});
    Update ones = taps;
    ones.value = FloatImm::make(1.0);
    ones.boundary = nullptr;  // it reads no tensor: its guard is the window's, as written
    alg.stages.push_back(make_stage("count", {{"p", wl.p()}, {"q", wl.q()}}, count, {p, q}, FloatImm::make(0.0), ones));
    divisor = Load::make(count, {p, q});
  }
  const BufferRef sum = temporary("sum", {wl.n, wl.c, wl.p(), wl.q()});
  alg.stages.push_back(make_stage("sum", dims, sum, {n, c, p, q}, FloatImm::make(0.0), taps));
  alg.stages.push_back(make_stage("average", dims, output, {n, c, p, q}, Load::make(sum, {n, c, p, q}) / divisor, std::nullopt));
  return alg;
}

Algorithm algorithm_for(const Workload& wl) { return wl.is_pool() ? pooling(wl) : direct_conv(wl); }

Algorithm algorithm_named(const std::string& name, const Workload& wl) {
  if (name.empty()) return algorithm_for(wl);
  if (wl.is_pool()) {
    if (name == wl.op) return pooling(wl);
    throw UserError("algorithm '" + name + "' does not compute " + wl.op + " (it has the algorithm " + wl.op + ")");
  }
  if (name == "direct_conv") return direct_conv(wl);
  if (name == "im2col_gemm") return im2col_gemm(wl);
  if (name == "direct_conv_staged") return direct_conv_staged(wl);
  if (const int m = winograd_tile_of(name)) return winograd(wl, m, winograd_channel_block_of(name));
  if (const int64_t block = sparse_channel_block_of(name); block >= 0) return sparse_direct(wl, block);
  if (const auto blocked = sparse_blocked_of(name)) return sparse_blocked(wl, blocked->first, blocked->second);
  throw UserError("unknown algorithm '" + name +
                  "' for a convolution (algorithms: direct_conv, direct_conv_staged, im2col_gemm, winograd_f2, winograd_f4, winograd_f6, winograd_fM_cB, sparse_direct, sparse_direct_cN, sparse_blocked_kB, sparse_blocked_kB_cN)");
}

} // namespace convtune
