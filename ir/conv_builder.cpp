/// \file Builds the naive convolution loop nest from a workload.
#include "ir/conv_builder.h"

namespace convtune {

namespace {

Expr var(const char* name) { return Var::make(name); }

/// `a * factor + b`, leaving out the parts that a factor of 1 or an offset of 0 make idle.
Expr scaled(Expr a, int64_t factor) { return factor == 1 ? a : a * Expr(factor); }
Expr offset(Expr a, int64_t delta) {
  if (delta == 0) return a;
  return delta > 0 ? a + Expr(delta) : a - Expr(-delta);
}

} // namespace

LoopNest build_conv_nest(const Workload& wl, const std::string& name) {
  wl.validate();
  const int64_t groups = wl.groups, cg = wl.c_per_group(), kg = wl.k_per_group();
  const int64_t p_extent = wl.p(), q_extent = wl.q();

  LoopNest nest = LoopNest::single(name, make_buffer("input", {wl.n, wl.c, wl.h, wl.w}, MemoryScope::Param),
                                   make_buffer("weights", {wl.k, cg, wl.r, wl.s}, MemoryScope::Param),
                                   make_buffer("output", {wl.n, wl.k, p_extent, q_extent}, MemoryScope::Param),
                                   Stmt());

  Expr n = var("n"), k = var("k"), p = var("p"), q = var("q"), c = var("c"), r = var("r"),
       s = var("s"), ih = var("ih"), iw = var("iw");
  // With groups, k and c count within group g; the tensors are indexed by the absolute channel.
  Expr k_abs = groups == 1 ? k : var("g") * Expr(kg) + k;
  Expr c_abs = groups == 1 ? c : var("g") * Expr(cg) + c;

  // A guard only for the sides the taps can cross: the highest input row a tap reads is
  // (P-1)*stride + (R-1)*dilation - pad_top.
  std::vector<Expr> guards;
  if (wl.pad_top > 0) guards.push_back(ih >= Expr(0));
  if ((p_extent - 1) * wl.stride_h + (wl.r - 1) * wl.dilation_h - wl.pad_top >= wl.h) guards.push_back(ih < Expr(wl.h));
  if (wl.pad_left > 0) guards.push_back(iw >= Expr(0));
  if ((q_extent - 1) * wl.stride_w + (wl.s - 1) * wl.dilation_w - wl.pad_left >= wl.w) guards.push_back(iw < Expr(wl.w));

  Stmt update = Store::make(nest.output, {n, k_abs, p, q},
                            Load::make(nest.input, {n, c_abs, ih, iw}) * Load::make(nest.weights, {k_abs, c, r, s}),
                            /*accumulate=*/true);
  if (!guards.empty()) {
    Expr cond = guards[0];
    for (size_t i = 1; i < guards.size(); ++i) cond = cond && guards[i];
    update = IfThenElse::make(cond, update);
  }

  Stmt taps = For::make("s", 0, wl.s, ForKind::Serial,
                        LetStmt::make("iw", offset(scaled(q, wl.stride_w) + scaled(s, wl.dilation_w), -wl.pad_left), update));
  taps = For::make("r", 0, wl.r, ForKind::Serial,
                   LetStmt::make("ih", offset(scaled(p, wl.stride_h) + scaled(r, wl.dilation_h), -wl.pad_top), taps));
  taps = For::make("c", 0, cg, ForKind::Serial, taps);

  Stmt point = Block::make({Store::make(nest.output, {n, k_abs, p, q}, FloatImm::make(0.0), false), taps});
  Stmt body = For::make("q", 0, q_extent, ForKind::Serial, point);
  body = For::make("p", 0, p_extent, ForKind::Serial, body);
  body = For::make("k", 0, kg, ForKind::Serial, body);
  if (groups > 1) body = For::make("g", 0, groups, ForKind::Serial, body);
  nest.stages[0].body = For::make("n", 0, wl.n, ForKind::Serial, body);
  return nest;
}

} // namespace convtune
