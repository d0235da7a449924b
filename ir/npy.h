/// \file f32 arrays in files: NumPy's .npy (little-endian float32, C order) or raw floats.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convtune {

struct FloatArray {
  std::vector<int64_t> shape;  ///< from a .npy header; empty for raw floats
  std::vector<float> values;
  bool npy = false;            ///< the file was a .npy
  std::string shape_text;      ///< the header's shape as written, e.g. "(430,)"
};

/// Reads `path`: a .npy of '<f4' in C order (versions 1 to 3), or else the whole file as raw
/// f32. UserError "`what`: <what is wrong>" (e.g. what = "invalid weights file 'w.npy'").
/// Values need not be finite here; the caller decides.
FloatArray read_float_file(const std::string& path, const std::string& what);

/// The bytes of a version 1.0 .npy holding `values` of `shape` ('<f4', C order).
std::string npy_bytes(const std::vector<int64_t>& shape, const float* values);

} // namespace convtune
