/// \file What the NCHWc templates (direct and depthwise) share: tile-size helpers, the
/// parallel-loop steps, and the analytic features of an output-stationary register tile.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/workload.h"
#include "schedules/schedule.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"

namespace convtune::nchwc {

int64_t ceil_div(int64_t a, int64_t b);
/// The divisors of n up to `limit`, ascending.
std::vector<int64_t> divisors_up_to(int64_t n, int64_t limit);
/// The width block in [lo, hi] that wastes the fewest columns of the last tile; ties go to
/// the wider block (fewer tiles).
int64_t least_waste_block(int64_t extent, int64_t lo, int64_t hi);
/// The widest register tile the width knobs offer (columns).
inline constexpr int64_t kMaxTileColumns = 28;
/// The register-tile width and height knobs: 1..min(Q, kMaxTileColumns) columns, 1 or 2 rows.
std::vector<int64_t> width_blocks(const Workload& wl);
std::vector<int64_t> height_blocks(const Workload& wl);
/// The output-channel block knob of a register tile: 1 to 4 vectors, no more than a group's
/// channels need.
std::vector<int64_t> vector_multiples(const Workload& wl, const Target& target);

/// The default register tile of an output-stationary template (direct, im2col + GEMM): an
/// output-channel block of `vector_multiples` (one vector only where a group's channels fit in
/// one; otherwise two or more, as one vector would load as much as it multiplies) and any number
/// of columns the registers hold after one weight vector per channel vector and a broadcast (at
/// most kMaxTileColumns: the default is a point of the space). The tile kept is the one whose
/// lanes and columns do the most useful work of `columns`, counting a tile of fewer than
/// kEnoughAccumulators sums as idling the FMA pipes in proportion; on a tie, the fewer vectors,
/// then the more columns. The packed input block is the largest divisor of the group's channels
/// up to 16, short enough for its weights to stay in L1 across the tile.
struct RegisterTile {
  int64_t oc = 0, columns = 0, ic = 0;
};
RegisterTile default_register_tile(const Workload& wl, const Target& target, int64_t columns);

/// Independent sums a register tile needs to keep two FMA pipes busy through an FMA's latency
/// (4 cycles on the x86 cores seen), with a margin. On AVX2 (measured, Zen 3): 8 sums (2 vectors
/// by 4 columns) ran MobileNetV2's 1x1 layers at 54-63% of peak, 12 (3 by 4) at 80-89%, oneDNN's
/// level; 10 (2 by 5) ran ResNet-18's 14-column layers 6-11% faster than 12 wasting 2 of 16 columns.
inline constexpr int64_t kEnoughAccumulators = 10;

/// Fuses the given outer loops (adjacent, outermost first) into one and makes it parallel.
void parallel_over(std::vector<Step>& steps, const std::vector<std::string>& loops);

/// The register tile a config makes, as the shared features see it.
struct TileShape {
  bool depthwise = false;
  int64_t oc = 1;        ///< channels per vector block (output channels, or depthwise channels)
  int64_t ic = 1;        ///< input channels per packed block (1 for depthwise)
  int64_t ow = 1, oh = 1;
  int64_t channels = 1;  ///< the channel extent the oc block tiles
  int64_t chunks = 1;    ///< iterations of the parallel loop
};
/// Features every NCHWc config has, after the template's own knob features: register
/// pressure, lane and tile utilisation, working sets, trip counts, parallel balance, and a few
/// of the workload's own.
std::vector<std::string> tile_feature_names();
std::vector<double> tile_features(const Workload& wl, const Target& target, int threads, const TileShape& tile);
/// A template's own feature names (or values) followed by the tile's.
std::vector<std::string> with_tile_feature_names(std::vector<std::string> own);
std::vector<double> with_tile_features(std::vector<double> own, const Workload& wl, const Target& target, int threads,
                                       const TileShape& tile);
double log2_at_least_1(double v);
/// extent / (ceil(extent/block)*block): how much of the padded-up extent is real work.
double utilisation(int64_t extent, int64_t block);

std::unique_ptr<ScheduleTemplate> make_direct_template();
std::unique_ptr<ScheduleTemplate> make_depthwise_template();
std::unique_ptr<ScheduleTemplate> make_im2col_gemm_template();
std::unique_ptr<ScheduleTemplate> make_pool_template();
std::unique_ptr<ScheduleTemplate> make_winograd_template();
std::unique_ptr<ScheduleTemplate> make_sparse_direct_template();
std::unique_ptr<ScheduleTemplate> make_sparse_blocked_template();

} // namespace convtune::nchwc
