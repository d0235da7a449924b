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

/// The default register tile of an output-stationary template (direct, im2col + GEMM): one
/// vector of output channels, two when a group has more channels than lanes; as many
/// columns as registers remain after one weight vector per channel vector and a broadcast (at
/// most kMaxTileColumns: the default is a point of the space), cut to waste the least of
/// `columns`; the largest divisor of the group's channels up to 16
/// as the packed block, short enough for its weights to stay in L1 across the tile.
struct RegisterTile {
  int64_t oc = 0, columns = 0, ic = 0;
};
RegisterTile default_register_tile(const Workload& wl, const Target& target, int64_t columns);

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
