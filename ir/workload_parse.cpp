/// \file parse_workload: a suite entry, an inline key=value spec or a oneDNN benchdnn descriptor.
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ir/error.h"
#include "ir/suites.h"
#include "ir/workload.h"

namespace convtune {

namespace {

// __extension__ keeps -Wpedantic quiet about the GCC/Clang 128-bit integer.
__extension__ typedef __int128 Int128;

[[noreturn]] void refuse(const std::string& reason) {
  throw UserError("invalid workload spec: " + reason);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
bool is_letter(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

/// Parses `-?[0-9]+` into an int64. `noun` ("key", "part") and `name` say where it came from;
/// `whole` is the full value shown in the message (a pair like "2:x" names both halves).
int64_t parse_int(std::string_view digits, const char* noun, std::string_view name,
                  std::string_view whole) {
  const auto fail = [&](const char* why) {
    refuse(std::string(noun) + " '" + std::string(name) + "' has value '" + std::string(whole) +
           "': " + why);
  };
  int64_t value = 0;
  const char* last = digits.data() + digits.size();
  // from_chars in base 10 takes exactly an optional '-' and digits: no '+', spaces or "0x".
  const auto [ptr, ec] = std::from_chars(digits.data(), last, value);
  if (digits.empty() || ptr != last || ec == std::errc::invalid_argument) fail("not an integer");
  if (ec == std::errc::result_out_of_range) fail("not an integer in range");
  return value;
}

// ---- inline spec: "n=1,c=64,h=56,k=64,r=3,stride=2,pad=1" ---------------------------------

struct Pair {
  int64_t first, second;
};

/// "N" or "H:W".
Pair parse_pair(std::string_view key, std::string_view value) {
  const std::vector<std::string_view> parts = split(value, ':');
  if (parts.size() == 1) {
    const int64_t v = parse_int(parts[0], "key", key, value);
    return {v, v};
  }
  if (parts.size() == 2)
    return {parse_int(parts[0], "key", key, value), parse_int(parts[1], "key", key, value)};
  refuse("key '" + std::string(key) + "' has value '" + std::string(value) + "': expected N or H:W");
}

/// "N", "H:W" (top = bottom = H, left = right = W) or "T:L:B:R".
void parse_pad(std::string_view value, Workload& wl) {
  const std::vector<std::string_view> parts = split(value, ':');
  std::vector<int64_t> v;
  if (parts.size() != 1 && parts.size() != 2 && parts.size() != 4)
    refuse("key 'pad' has value '" + std::string(value) + "': expected N, H:W or T:L:B:R");
  for (std::string_view part : parts) v.push_back(parse_int(part, "key", "pad", value));
  if (v.size() == 1) v = {v[0], v[0], v[0], v[0]};
  if (v.size() == 2) v = {v[0], v[1], v[0], v[1]};
  wl.pad_top = v[0];
  wl.pad_left = v[1];
  wl.pad_bottom = v[2];
  wl.pad_right = v[3];
}

Workload parse_inline(std::string_view text) {
  static const char* const known_keys[] = {"n", "c", "h", "w", "k", "r", "s", "stride", "pad", "dilation",
                                           "groups", "op", "epilogue", "count_include_pad"};
  Workload wl;
  std::set<std::string> seen;
  for (std::string_view entry : split(text, ',')) {
    entry = trim(entry);
    if (entry.empty()) refuse("empty entry in '" + std::string(text) + "'");
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) refuse("'" + std::string(entry) + "' is not key=value");
    const std::string key(trim(entry.substr(0, eq)));
    const std::string_view value = trim(entry.substr(eq + 1));

    bool known = false;
    for (const char* k : known_keys) known = known || key == k;
    if (!known) refuse("unknown key '" + key + "'");
    if (seen.count(key)) refuse("key '" + key + "' given twice");
    seen.insert(key);

    if (key == "stride") {
      const Pair p = parse_pair(key, value);
      wl.stride_h = p.first;
      wl.stride_w = p.second;
    } else if (key == "dilation") {
      const Pair p = parse_pair(key, value);
      wl.dilation_h = p.first;
      wl.dilation_w = p.second;
    } else if (key == "pad") {
      parse_pad(value, wl);
    } else if (key == "op") {
      wl.op = std::string(value);
    } else if (key == "epilogue") {
      wl.epilogue = std::string(value);
    } else {
      const int64_t v = parse_int(value, "key", key, value);
      if (key == "n") wl.n = v;
      if (key == "c") wl.c = v;
      if (key == "h") wl.h = v;
      if (key == "w") wl.w = v;
      if (key == "k") wl.k = v;
      if (key == "r") wl.r = v;
      if (key == "s") wl.s = v;
      if (key == "groups") wl.groups = v;
      if (key == "count_include_pad") wl.count_include_pad = v;
    }
  }
  // Pooling keeps the channels: k is c unless given.
  if (wl.is_pool() && !seen.count("k") && seen.count("c")) wl.k = wl.c;
  for (const char* required : {"c", "h", "k", "r"}) {
    if (!seen.count(required) && !(std::string(required) == "k" && wl.is_pool())) {
      refuse("missing key '" + std::string(required) + "'");
    }
  }
  // Square by default, as in most papers' tables.
  if (!seen.count("w")) wl.w = wl.h;
  if (!seen.count("s")) wl.s = wl.r;
  return wl;
}

// ---- benchdnn descriptor: "g32mb1ic32ih112oc32oh112kh3ph1n\"dw1\"" --------------------------

/// The far-side pad (bottom or right) that gives `out` outputs. Like benchdnn, symmetric padding
/// is kept when it already gives `out`; otherwise the far pad absorbs the difference.
int64_t far_pad(const char* out_name, int64_t out, int64_t in, int64_t kernel, int64_t stride,
                int64_t dilation, int64_t near_pad, const char* inputs) {
  const auto mismatch = [&] {
    refuse(std::string(out_name) + "=" + std::to_string(out) + " does not match " + inputs);
  };
  if (out < 1) mismatch();
  // Degenerate sizes are left for validate(), which names the field.
  if (in < 1 || kernel < 1 || stride < 1 || dilation < 1 || near_pad < 0) return near_pad;
  // 128 bits: the descriptor's numbers are only known to fit in 64 each.
  const Int128 extent = static_cast<Int128>(kernel - 1) * dilation + 1;
  const Int128 symmetric = static_cast<Int128>(in) + 2 * static_cast<Int128>(near_pad);
  if (symmetric >= extent && (symmetric - extent) / stride + 1 == out) return near_pad;
  const Int128 far = static_cast<Int128>(out - 1) * stride + extent - in - near_pad;
  if (far < 0 || far > std::numeric_limits<int64_t>::max()) mismatch();
  return static_cast<int64_t>(far);
}

/// The name part: `"quoted"` or bare, up to the end of the descriptor.
std::string benchdnn_name(std::string_view rest) {
  if (rest.empty() || rest.front() != '"') return std::string(rest);
  if (rest.size() < 2 || rest.back() != '"')
    refuse("benchdnn name 'n" + std::string(rest) + "' lacks its closing quote");
  return std::string(rest.substr(1, rest.size() - 2));
}

/// One spatial side of a descriptor (h or w) as benchdnn reads it: absent parts are unset.
struct Side {
  std::optional<int64_t> in, out, kernel, stride, pad, dilation;
  /// benchdnn's test for a side the descriptor does not mention at all.
  bool absent() const { return !in && !out && !kernel && !dilation && stride.value_or(1) == 1 && pad.value_or(-1) < 1; }
};

/// Sizes, padding (near, far) and dilation of one resolved side.
struct ResolvedSide {
  int64_t in = 1, kernel = 1, stride = 1, pad = 0, far_pad = 0, dilation = 1;
};

/// benchdnn's rules for a mentioned side: in and kernel required; stride 1 and dilation 0 by
/// default; with the output given and no pad, the pad that centres the window (truncated, as
/// benchdnn divides), and the far pad whatever gives that output.
ResolvedSide resolve_side(const Side& side, char letter) {
  const std::string l(1, letter);
  if (!side.in) refuse("missing 'i" + l + "'");
  if (!side.kernel) refuse("missing 'k" + l + "'");
  ResolvedSide r;
  r.in = *side.in;
  r.kernel = *side.kernel;
  r.stride = side.stride.value_or(1);
  // benchdnn's dilation counts the gaps: d0 is a dense kernel, d1 skips one row.
  const int64_t gaps = side.dilation.value_or(0);
  if (gaps == std::numeric_limits<int64_t>::max()) {
    refuse("part 'd" + l + "' has value '" + std::to_string(gaps) + "': not an integer in range");
  }
  r.dilation = gaps + 1;
  if (side.pad) {
    r.pad = *side.pad;
  } else if (side.out) {
    const Int128 total = static_cast<Int128>(*side.out - 1) * r.stride - r.in + static_cast<Int128>(r.kernel - 1) * r.dilation + 1;
    r.pad = total > 0 ? static_cast<int64_t>(total / 2) : 0;
  }
  r.far_pad = r.pad;
  // With the output given, the far pad is whatever makes the output that size.
  if (side.out) {
    const std::string inputs = "i" + l + ", k" + l + ", s" + l + ", p" + l;
    r.far_pad = far_pad(("o" + l).c_str(), *side.out, r.in, r.kernel, r.stride, r.dilation, r.pad, inputs.c_str());
  }
  return r;
}

Workload parse_benchdnn(std::string_view text) {
  static const char* const known_parts[] = {"g",  "mb", "ic", "ih", "iw", "oc", "oh", "ow",
                                            "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw"};
  static const char* const parts_3d[] = {"id", "od", "kd", "sd", "pd", "dd"};
  std::map<std::string, int64_t, std::less<>> parts;
  std::string name;
  size_t i = 0;
  while (i < text.size()) {
    // Parts may be separated by '_' (as benchdnn's shape files write them).
    if (text[i] == '_') {
      ++i;
      continue;
    }
    // The name runs to the end: n"name", _n"name" or nNAME. No size part starts with 'n'.
    if (text[i] == 'n') {
      name = benchdnn_name(text.substr(i + 1));
      break;
    }
    const size_t start = i;
    while (i < text.size() && is_letter(text[i])) ++i;
    const size_t digits_start = i;
    if (i < text.size() && text[i] == '-') ++i; // so that "ph-1" reads as a number and validate() names it
    while (i < text.size() && is_digit(text[i])) ++i;
    const std::string prefix(text.substr(start, digits_start - start));
    const std::string_view digits = text.substr(digits_start, i - digits_start);
    const std::string part(text.substr(start, i - start));

    if (prefix.empty())
      refuse("unexpected '" + std::string(1, text[start]) + "' in benchdnn descriptor '" +
             std::string(text) + "'");
    for (const char* p3 : parts_3d) {
      if (prefix == p3) refuse("3-D convolutions (" + prefix + ") are not supported");
    }
    bool known = false;
    for (const char* p : known_parts) known = known || prefix == p;
    if (!known) refuse("unknown benchdnn part '" + part + "'");
    if (digits.empty()) refuse("benchdnn part '" + prefix + "' has no value");
    const int64_t value = parse_int(digits, "part", prefix, digits);
    // A part repeated with its value (oneDNN's own files have "kh5_kh5") is the same part.
    if (parts.count(prefix) && parts[prefix] != value) {
      refuse("benchdnn part '" + prefix + "' given twice (" + std::to_string(parts[prefix]) + " and " + std::to_string(value) + ")");
    }
    parts[prefix] = value;
  }

  const auto opt = [&](const char* key) {
    const auto it = parts.find(key);
    return it == parts.end() ? std::optional<int64_t>() : std::optional<int64_t>(it->second);
  };
  for (const char* required : {"ic", "oc"}) {
    if (!parts.count(required)) refuse("missing '" + std::string(required) + "'");
  }
  Side h{opt("ih"), opt("oh"), opt("kh"), opt("sh"), opt("ph"), opt("dh")};
  Side w{opt("iw"), opt("ow"), opt("kw"), opt("sw"), opt("pw"), opt("dw")};
  // A side not mentioned copies the other (benchdnn's square default); a 1-D descriptor (only
  // w) is a convolution over one row.
  if (h.absent() && w.absent()) refuse("missing 'ih'");
  if (w.absent()) w = h;
  // A mentioned width side without its input or kernel size takes the height side's (benchdnn
  // would refuse; its stride, pad and dilation still take benchdnn's defaults).
  if (!h.absent()) {
    if (!w.in) w.in = h.in;
    if (!w.kernel) w.kernel = h.kernel;
  }
  const ResolvedSide rh = h.absent() ? ResolvedSide{} : resolve_side(h, 'h');
  const ResolvedSide rw = resolve_side(w, 'w');

  Workload wl;
  wl.groups = opt("g").value_or(1);
  wl.n = opt("mb").value_or(2); // benchdnn's default minibatch
  wl.c = *opt("ic");
  wl.k = *opt("oc");
  wl.h = rh.in;
  wl.r = rh.kernel;
  wl.stride_h = rh.stride;
  wl.pad_top = rh.pad;
  wl.pad_bottom = rh.far_pad;
  wl.dilation_h = rh.dilation;
  wl.w = rw.in;
  wl.s = rw.kernel;
  wl.stride_w = rw.stride;
  wl.pad_left = rw.pad;
  wl.pad_right = rw.far_pad;
  wl.dilation_w = rw.dilation;
  wl.name = name;
  return wl;
}

/// ^[A-Za-z0-9_]+:[A-Za-z0-9_]+$
bool is_suite_entry(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (i != colon && !is_letter(ch) && !is_digit(ch) && ch != '_') return false;
  }
  return true;
}

/// Starts with "mb", "g" or "ic" followed by a digit.
bool is_benchdnn(std::string_view text) {
  for (std::string_view prefix : {"mb", "g", "ic"}) {
    if (text.size() > prefix.size() && text.substr(0, prefix.size()) == prefix &&
        is_digit(text[prefix.size()]))
      return true;
  }
  return false;
}

} // namespace

Workload parse_workload(const std::string& raw) {
  const std::string_view text = trim(raw);
  if (text.empty()) refuse("empty");

  Workload wl;
  // benchdnn first: its quoted name may hold '=' or ':', and no inline key or suite name
  // starts like "mb1", "g2" or "ic3".
  if (is_benchdnn(text)) {
    wl = parse_benchdnn(text);
  } else if (text.find('=') != std::string_view::npos) {
    wl = parse_inline(text);
  } else if (is_suite_entry(text)) {
    const size_t colon = text.find(':');
    wl = suite_layer(std::string(text.substr(0, colon)), std::string(text.substr(colon + 1)));
  } else {
    throw UserError("invalid workload spec '" + std::string(text) +
                    "': expected suite:LAYER, key=value,... or a benchdnn descriptor");
  }
  wl.validate();
  return wl;
}

} // namespace convtune
