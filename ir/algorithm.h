/// \file Algorithms as data: a small pipeline of stages over named dimensions (the model is
/// Halide's Func: a pure definition plus an optional update, and TVM's compute declarations).
///
/// A stage computes one value per point of its pure dimensions: first its pure definition
/// (`init`), then, when it has an update, `op` folds `value` into it over the reduction
/// dimensions, skipping the terms where `guard` is false (padding). A stage reads the
/// algorithm's input tensors or the buffers of earlier stages, through ordinary Loads whose
/// indices are expressions of the dimensions; it stores into its own buffer at `index` (so a
/// stage's dimensions need not be its buffer's: groups split a channel dimension, im2col
/// flattens c, r, s into one row). The last stage stores into the output parameter; the
/// others into temporaries that live in the kernel's workspace.
///
/// naive_nest() is the one place a description becomes a loop nest: each stage's loops in
/// declaration order, pure then reduction, every stage computed whole before the next.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/ir.h"

namespace convtune {

struct Dim {
  std::string name;
  int64_t extent = 1;
  /// A reduction dimension's trip count where it may stop short of `extent` (a sparse row's
  /// list of taps, shorter than the longest it is padded to), an expression of the stage's
  /// other dimensions; undefined: `extent`. The terms past it must change no result (zeros of
  /// a sum): a lowering may run them or not.
  Expr trips{};
};

enum class ReduceOp { Sum, Max };

struct Update {
  std::vector<Dim> rdims;         ///< reduction dimensions, outermost first
  std::vector<LetBinding> lets;   ///< bound inside the innermost reduction loop each one uses
  Expr guard;                     ///< terms where it is false are skipped; undefined: none
  /// The tensor whose out-of-range taps `guard` skips (a zero exterior, as Halide's
  /// constant_exterior); null when the guard is not that. A scheduled lowering derives the
  /// guard again from this tensor's load over the scheduled loops' ranges (tails may reach
  /// further), and needs none where the tensor is packed with its exterior as zeros.
  BufferRef boundary;
  ReduceOp op = ReduceOp::Sum;
  Expr value;
};

struct AlgorithmStage {
  std::string name;
  /// Compute, or PackInput for a stage that only re-lays out an input (im2col's gather): its
  /// time is a layout transform's, reported apart from the computation.
  StageKind kind = StageKind::Compute;
  std::vector<Dim> dims;          ///< pure dimensions, outermost first
  BufferRef buffer;               ///< a parameter (the last stage's output) or a temporary
  std::vector<Expr> index;        ///< where a point of the stage lives in `buffer`
  Expr init;                      ///< the pure definition
  std::optional<Update> update;
  /// Dimensions whose over-run would reach another point's data even in zero-padded packed
  /// layouts (the channels within a group): a split tail of these is always guarded.
  std::vector<std::string> exact_dims;
  /// Names a schedule may not give new loops although the stage lacks them, so that they mean
  /// the same in every variant of the algorithm (a dense convolution keeps `g` for groups).
  std::vector<std::string> reserved_names;
};

struct Algorithm {
  std::string name;               ///< e.g. "direct_conv", "im2col_gemm", "maxpool"
  std::vector<NestParam> params;  ///< inputs in the entry's order, then the output
  std::vector<AlgorithmStage> stages;
  std::string main_stage;         ///< the stage a schedule's steps apply to

  /// The stage called `name`; InternalError when there is none.
  const AlgorithmStage& stage(const std::string& name) const;
};

/// The unscheduled loop nest of `algorithm`: every stage whole, in order, its temporaries in
/// the workspace.
LoopNest naive_nest(const Algorithm& algorithm, const std::string& name);

/// The stage's dimensions at the point of its buffer `coords`: one binding per dimension,
/// inverting `index` where each index component is a mixed-radix combination of dimensions
/// (d0*E1*E2 + d1*E2 + d2, as im2col flattens c, r, s), each dimension in one component.
/// nullopt when the index is not of that form or leaves a dimension out.
std::optional<std::vector<LetBinding>> stage_point(const AlgorithmStage& stage, const std::vector<Expr>& coords);

/// `algorithm` with the pure stage `name` computed inline: each read of its buffer becomes its
/// definition at the point read (stage_point), and the stage is gone. The caller checks that
/// it can be (a pure temporary stage, not the main one, with an invertible index).
Algorithm inline_stage(const Algorithm& algorithm, const std::string& name);

/// `body` inside `lets`, the first outermost.
Stmt wrap_lets(const std::vector<LetBinding>& lets, Stmt body);

/// One stage's unscheduled loops: its pure loops around the pure definition and the update.
/// With `parallel`, its two outermost pure loops run fused on the thread pool (what a stage
/// left unscheduled gets next to a scheduled one).
Stmt naive_stage_loops(const AlgorithmStage& stage, bool parallel = false);

} // namespace convtune
