/// \file Given weights: magnitude pruning (unstructured and in blocks), the pattern of nonzeros
/// and its digest, reading .npy and raw files with exact refusals, and the workload's key and
/// JSON carrying the pattern so that a config tuned for one pattern never meets another.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/sparse.h"
#include "ir/workload.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::testing::TempPath;

namespace {

const char* kLayer = "n=1,c=6,h=5,w=5,k=8,r=3,s=3,pad=1";

/// A .npy file (version 1) holding `values` with the header's descr, order and shape as given.
void write_npy(const std::string& path, const std::vector<float>& values, const std::string& descr = "<f4",
               const std::string& fortran = "False", const std::string& shape = "(8, 6, 3, 3)") {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = uint16_t(header.size());
  out.put(char(len & 0xff));
  out.put(char(len >> 8));
  out << header;
  out.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * 4));
}

std::vector<float> ramp_weights(size_t count) {
  std::vector<float> w(count);
  for (size_t i = 0; i < count; ++i) w[i] = float(i % 7) - 3.0f;  // zeros at every i % 7 == 3
  return w;
}

} // namespace

TEST_CASE("pruning zeroes the given fraction of the smallest weights, the same in every call", "[ir][sparse]") {
  const Workload wl = parse_workload(kLayer);
  const size_t count = size_t(wl.weight_elems());
  for (double sparsity : {0.0, 0.5, 0.9, 0.99, 1.0}) {
    INFO("sparsity " << sparsity);
    const std::vector<float> w = pruned_weights(wl, sparsity, 1);
    REQUIRE(w.size() == count);
    size_t zeros = 0;
    float largest_zeroed = 0, smallest_kept = std::numeric_limits<float>::infinity();
    const std::vector<float> dense = pruned_weights(wl, 0.0, 1);
    for (size_t i = 0; i < count; ++i) {
      if (w[i] == 0.0f) {
        ++zeros;
        largest_zeroed = std::max(largest_zeroed, std::fabs(dense[i]));
      } else {
        REQUIRE(w[i] == dense[i]);  // what stays is the random weight itself
        smallest_kept = std::min(smallest_kept, std::fabs(w[i]));
      }
    }
    REQUIRE(zeros == size_t(std::llround(sparsity * double(count))));
    if (zeros > 0 && zeros < count) REQUIRE(largest_zeroed <= smallest_kept);
    REQUIRE(pruned_weights(wl, sparsity, 1) == w);
  }
}

TEST_CASE("pruning in blocks of output channels gives each block one pattern", "[ir][sparse]") {
  const Workload wl = parse_workload(kLayer);
  const std::vector<float> w = pruned_weights(wl, 0.75, 4);
  const SparsePattern p = pattern_of(wl, w);
  REQUIRE(p.rows[0] == p.rows[3]);
  REQUIRE(p.rows[4] == p.rows[7]);
  // 108 blocks (two of four channels, at 54 taps each); 81 of them go.
  REQUIRE(p.nonzeros() == 4 * (108 - 81));
  REQUIRE(p.density() == double(p.nonzeros()) / 432.0);
}

TEST_CASE("a pattern lists each output channel's nonzero taps, and its digest names them", "[ir][sparse]") {
  const Workload wl = parse_workload(kLayer);
  std::vector<float> w(size_t(wl.weight_elems()), 0.0f);
  w[0 * 54 + 5] = 1.0f;   // k=0: c=0, r=1, s=2
  w[0 * 54 + 53] = -2.0f;  // k=0: c=5, r=2, s=2
  w[2 * 54 + 9] = 0.5f;   // k=2: c=1, r=0, s=0
  const SparsePattern p = pattern_of(wl, w);
  REQUIRE(p.rows.size() == 8);
  REQUIRE(p.rows[0] == std::vector<int32_t>{5, 53});
  REQUIRE(p.rows[1].empty());
  REQUIRE(p.rows[2] == std::vector<int32_t>{9});
  REQUIRE(p.nonzeros() == 3);
  REQUIRE(p.longest_row() == 2);
  REQUIRE(p.digest().size() == 16);
  // Other values, same places: the same digest; another place: another one.
  w[0 * 54 + 5] = 7.0f;
  REQUIRE(pattern_of(wl, w).digest() == p.digest());
  w[1 * 54 + 0] = 1.0f;
  REQUIRE(pattern_of(wl, w).digest() != p.digest());
}

TEST_CASE("weights files: .npy and raw f32 are read, and a wrong one is refused naming the file", "[ir][sparse]") {
  const Workload wl = parse_workload(kLayer);
  const std::vector<float> w = ramp_weights(432);
  TempPath npy("sparse", ".npy"), raw("sparse", ".f32");
  write_npy(npy.str(), w);
  REQUIRE(read_weights_file(wl, npy.str()) == w);
  {
    std::ofstream out(raw.str(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(w.data()), std::streamsize(w.size() * 4));
  }
  REQUIRE(read_weights_file(wl, raw.str()) == w);
  // A flat .npy of the right count reads too.
  write_npy(npy.str(), w, "<f4", "False", "(432,)");
  REQUIRE(read_weights_file(wl, npy.str()) == w);

  const std::string n = npy.str();
  write_npy(n, ramp_weights(430), "<f4", "False", "(430,)");
  REQUIRE_THROWS_WITH(read_weights_file(wl, n), "invalid weights file '" + n + "': its shape (430,) holds 430 floats; the layer's KCRS weights (8, 6, 3, 3) are 432");
  write_npy(n, w, "<f8");
  REQUIRE_THROWS_WITH(read_weights_file(wl, n), "invalid weights file '" + n + "': it holds '<f8', not little-endian float32 ('<f4')");
  write_npy(n, w, "<f4", "True");
  REQUIRE_THROWS_WITH(read_weights_file(wl, n), "invalid weights file '" + n + "': it is in Fortran order; C order is needed");
  std::vector<float> bad = w;
  bad[10] = std::numeric_limits<float>::quiet_NaN();
  write_npy(n, bad);
  REQUIRE_THROWS_WITH(read_weights_file(wl, n), "invalid weights file '" + n + "': it holds a value that is not finite");
  {
    std::ofstream out(raw.str(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(w.data()), 100);
  }
  REQUIRE_THROWS_WITH(read_weights_file(wl, raw.str()), "invalid weights file '" + raw.str() +
                                                            "': it holds 100 bytes of data; the layer's KCRS weights (8, 6, 3, 3) are 432 floats (1728 bytes)");
  REQUIRE_THROWS_WITH(read_weights_file(wl, "/nonexistent/w.npy"), "invalid weights file '/nonexistent/w.npy': it cannot be read");
}

TEST_CASE("given weights put their pattern in the workload's key and JSON, and a changed file is refused", "[ir][sparse]") {
  Workload wl = parse_workload(kLayer);
  const std::string dense_key = wl.key();
  TempPath file("sparse", ".npy");
  std::vector<float> w = ramp_weights(432);
  write_npy(file.str(), w);
  wl.weights.file = file.str();
  wl = with_weights_digest(wl);
  const std::string digest = pattern_of(wl, w).digest();
  REQUIRE(wl.weights.digest == digest);
  REQUIRE(wl.key() == dense_key + "_weights" + digest);

  // Synthetic weights of another sparsity: another pattern, another key.
  Workload pruned = parse_workload(kLayer);
  pruned.weights.pruned = true;
  pruned.weights.sparsity = 0.9;
  pruned = with_weights_digest(pruned);
  REQUIRE(pruned.key() != wl.key());
  REQUIRE(pruned.key() != dense_key);

  // The JSON form keeps the source and the digest.
  const Workload back = nlohmann::json(pruned).get<Workload>();
  REQUIRE(back.key() == pruned.key());
  REQUIRE(back.weights.pruned);
  REQUIRE(back.weights.sparsity == 0.9);

  // The file changes after tuning: its pattern is no longer the one the key names. (The
  // process reads a file once, so a fresh name stands for the changed file.)
  TempPath changed("sparse", ".npy");
  w[0] = 0.0f;
  write_npy(changed.str(), w);
  Workload moved = wl;
  moved.weights.file = changed.str();
  REQUIRE_THROWS_WITH(sparse_pattern_of(moved), "weights '" + changed.str() + "' have the pattern " + pattern_of(wl, w).digest() +
                                                    ", not the pattern " + digest + " the workload was tuned for");
}

TEST_CASE("a workload refuses given weights it cannot have, naming the field", "[ir][sparse]") {
  Workload pool = parse_workload("n=1,c=4,h=8,w=8,k=4,r=3,s=3,op=maxpool");
  pool.weights.pruned = true;
  REQUIRE_THROWS_WITH(pool.validate(), "invalid workload: weights=pruned: maxpool has no weights");
  Workload wl = parse_workload(kLayer);
  wl.weights.pruned = true;
  wl.weights.sparsity = 0.5;
  wl.weights.block = 3;
  REQUIRE_THROWS_WITH(wl.validate(), "invalid workload: sparsity_block=3: must divide k=8");
  wl.weights.block = 1;
  wl.weights.sparsity = 1.5;
  REQUIRE_THROWS_WITH(wl.validate(), "invalid workload: sparsity=1.500000: expected a fraction in [0, 1]");
}
