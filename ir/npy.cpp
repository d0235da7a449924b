/// \file .npy and raw f32 files.
#include "ir/npy.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>

#include "ir/error.h"

namespace convtune {

namespace {

/// The value of `key` in a .npy header's dict text, up to the next top-level comma.
std::string header_value(const std::string& header, const std::string& key, const std::string& what) {
  const size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) throw UserError(what + ": its .npy header has no '" + key + "'");
  size_t colon = header.find(':', at);
  if (colon == std::string::npos) throw UserError(what + ": its .npy header is malformed");
  size_t end = colon + 1;
  int depth = 0;
  for (; end < header.size(); ++end) {
    const char ch = header[end];
    if (ch == '(') ++depth;
    if (ch == ')') --depth;
    if ((ch == ',' && depth == 0) || ch == '}') break;
  }
  std::string v = header.substr(colon + 1, end - colon - 1);
  v.erase(0, v.find_first_not_of(" "));
  v.erase(v.find_last_not_of(" ") + 1);
  return v;
}

} // namespace

FloatArray read_float_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(what + ": it cannot be read");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  FloatArray array;
  size_t data = 0;
  if (bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0) {
    array.npy = true;
    const unsigned major = static_cast<unsigned char>(bytes[6]);
    size_t header_len = 0;
    if (major == 1) {
      header_len = size_t(static_cast<unsigned char>(bytes[8])) | size_t(static_cast<unsigned char>(bytes[9])) << 8;
      data = 10 + header_len;
    } else if ((major == 2 || major == 3) && bytes.size() >= 12) {
      for (int b = 0; b < 4; ++b) header_len |= size_t(static_cast<unsigned char>(bytes[size_t(8 + b)])) << (8 * b);
      data = 12 + header_len;
    } else {
      throw UserError(what + ": .npy version " + std::to_string(major) + " is not one this reader knows (1, 2, 3)");
    }
    if (data > bytes.size()) throw UserError(what + ": its .npy header is truncated");
    const std::string header = bytes.substr(data - header_len, header_len);
    const std::string descr = header_value(header, "descr", what);
    if (descr != "'<f4'" && descr != "'float32'") throw UserError(what + ": it holds " + descr + ", not little-endian float32 ('<f4')");
    if (header_value(header, "fortran_order", what) != "False") throw UserError(what + ": it is in Fortran order; C order is needed");
    array.shape_text = header_value(header, "shape", what);
    const std::string& shape = array.shape_text;
    for (size_t i = 0; i < shape.size();) {
      if (!std::isdigit(static_cast<unsigned char>(shape[i]))) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < shape.size() && std::isdigit(static_cast<unsigned char>(shape[j]))) ++j;
      if (j - i > 12) throw UserError(what + ": its shape " + shape + " is too large");
      array.shape.push_back(std::stoll(shape.substr(i, j - i)));
      i = j;
    }
    int64_t elements = 1;
    for (int64_t d : array.shape) elements *= d;
    if (int64_t(bytes.size() - data) != 4 * elements) {
      throw UserError(what + ": its shape " + shape + " holds " + std::to_string(elements) + " floats; the file has " +
                      std::to_string(bytes.size() - data) + " bytes of data");
    }
  }
  if ((bytes.size() - data) % 4 != 0) {
    throw UserError(what + ": it holds " + std::to_string(bytes.size() - data) + " bytes of data, not a whole number of floats");
  }
  array.values.resize((bytes.size() - data) / 4);
  if (!array.values.empty()) std::memcpy(array.values.data(), bytes.data() + data, array.values.size() * 4);
  return array;
}

std::string npy_bytes(const std::vector<int64_t>& shape, const float* values) {
  std::string dims;
  int64_t elements = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += (i ? ", " : "") + std::to_string(shape[i]);
    elements *= shape[i];
  }
  if (shape.size() == 1) dims += ",";  // "(3,)" as NumPy writes a 1-tuple
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic, version, length, then the header padded with spaces to a multiple of 64, ending in '\n'.
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += char(header.size() & 0xff);
  bytes += char(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values), size_t(elements) * 4);
  return bytes;
}

} // namespace convtune
