/// \file The scheduled form of one stage of an algorithm: its loops as the schedule arranges
/// them, the layouts it packs, and where partial sums accumulate in registers.
///
/// The stage's pure dimensions (one result each) and its update's reduction dimensions (folded
/// into it) start as loops in declaration order; for a direct convolution that is n, (g,) k,
/// p, q and c, r, s. Primitives rewrite this state; the scheduling pass (compiler/schedule_loops) turns it into a loop nest
/// with the algorithm's other stages around it. All extents are constants, so any order of
/// the loops computes the same result; what a primitive refuses is named in its error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/algorithm.h"
#include "ir/error.h"
#include "ir/ir.h"
#include "ir/workload.h"

namespace convtune {

/// A schedule primitive refused: the message names the primitive and the loop.
class ScheduleError : public UserError {
public:
  using UserError::UserError;
};

struct LoopDim {
  std::string name;
  int64_t extent = 1;
  ForKind kind = ForKind::Serial;
  bool reduction = false;
};

/// How loops derive from one another, in the order the primitives made them.
/// Split: parent = outer * factor + inner; the outer loop runs ceil(parent_extent / factor)
/// times, so the last tile may run past the parent's extent (a tail).
/// Fuse: outer = fused / inner_extent, inner = fused % inner_extent.
struct LoopRelation {
  enum Kind { Split, Fuse } kind = Split;
  std::string parent;       ///< split: the loop split; fuse: the fused loop
  std::string outer, inner;
  int64_t factor = 1;         ///< split: the inner extent; fuse: the inner loop's extent
  int64_t parent_extent = 1;  ///< split: the split loop's extent
};

class ScheduleState {
public:
  /// The main stage of the workload's own algorithm (direct convolution, or its pooling).
  explicit ScheduleState(const Workload& wl);
  /// The stage `stage` of `algorithm` (empty: its main stage): its pure dimensions, then its
  /// update's reductions.
  ScheduleState(Algorithm algorithm, const std::string& stage);

  const Algorithm& algorithm() const { return algorithm_; }
  const AlgorithmStage& stage() const { return algorithm_.stage(stage_); }
  const std::vector<LoopDim>& loops() const { return loops_; }
  const std::vector<LoopRelation>& relations() const { return relations_; }
  /// Channel blocks of the packed layouts; 0 where that tensor is not packed.
  int64_t input_block() const { return input_block_; }
  int64_t weight_in_block() const { return weight_in_block_; }
  int64_t weight_out_block() const { return weight_out_block_; }
  int64_t output_block() const { return output_block_; }
  /// The loop at whose level partial sums live in a local (register) buffer; empty for none.
  const std::string& accumulate_at() const { return accumulate_at_; }

  const LoopDim& loop(const std::string& name, const char* primitive) const;
  /// The same algorithm rewritten without changing this stage's dimensions (a stage it reads
  /// computed inline).
  void replace_algorithm(Algorithm algorithm);
  int position(const std::string& name, const char* primitive) const;

  // ---- primitives (each checks, then rewrites; see schedule_primitives.cpp) ----------------
  /// Tiles `loop` by `factor` into `outer` (ceil(extent/factor) iterations) and `inner`.
  void split(const std::string& loop, int64_t factor, const std::string& outer, const std::string& inner);
  /// Puts the named loops, in this order, into the positions they occupy now.
  void reorder(const std::vector<std::string>& order);
  /// Merges two adjacent loops, `outer` directly around `inner`, of the same kind (pure or reduction).
  void fuse(const std::string& outer, const std::string& inner, const std::string& fused);
  /// Unrolls `loop` completely (at most 256 iterations).
  void unroll(const std::string& loop);
  /// Runs a pure loop's iterations as the lanes of vector instructions (at most 64).
  void vectorize(const std::string& loop);
  /// Runs a pure loop's iterations on the thread pool (not inside another parallel loop).
  void parallel(const std::string& loop);
  /// Binds a pure loop to a GPU index: "blockIdx.x|y|z" or "threadIdx.x|y|z". Refused for a
  /// reduction, an annotated loop, an index bound already, a block loop inside a thread loop,
  /// a thread loop inside a reduction loop, more than 1024 threads per block, a nest with a
  /// CPU-parallel loop, and a loop inside the cache_write tile.
  void bind(const std::string& loop, const std::string& gpu_index);
  /// Keeps the partial sums of the output tile below `loop` in a local buffer (registers)
  /// across the reduction loops and stores them once.
  void cache_write(const std::string& loop);
  /// Packs the input to NCHW[x]c with its padding materialised as zeros (any stage that reads
  /// the input; a stage other than the main one gets a packed copy of its own).
  void pack_input(int64_t block);
  /// Packs the weights to KCRS[x]c[y]k (any stage that reads them).
  void pack_weights(int64_t in_block, int64_t out_block);
  /// Computes the stage into a buffer blocked along its channels (NKPQ[y]k), unpacked into
  /// its own buffer afterwards (any stage).
  void pack_output(int64_t block);

private:
  /// The pack primitives re-lay out the main stage's tensors only.
  /// Refuses `primitive` on a stage that does not read the parameter `param`.
  void require_reads(const char* primitive, const std::string& param) const;
  LoopDim& mutable_loop(const std::string& name, const char* primitive);
  void check_new_name(const std::string& name, const char* primitive) const;

  Algorithm algorithm_;
  std::string stage_;
  std::vector<LoopDim> loops_;
  std::vector<LoopRelation> relations_;
  int64_t input_block_ = 0, weight_in_block_ = 0, weight_out_block_ = 0, output_block_ = 0;
  std::string accumulate_at_;
};

} // namespace convtune
