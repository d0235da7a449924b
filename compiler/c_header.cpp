/// \file The C header of an ahead-of-time kernel (see the header).
#include "compiler/c_header.h"

#include <cctype>
#include <cmath>
#include <set>

namespace convtune {

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// The index variable of a layout letter: 'C' -> "c".
std::string lower(char letter) { return std::string(1, char(std::tolower(static_cast<unsigned char>(letter)))); }

std::string dims_text(const std::vector<int64_t>& shape) {
  std::string t;
  for (int64_t d : shape) t += "[" + std::to_string(d) + "]";
  return t;
}

/// The parameter list of the entries: `const float* input, ...` in the ABI's order; with
/// `packed`, the weights are their packed form.
std::string params_text(const KernelAbi& abi, bool packed = false) {
  std::string t;
  for (size_t i = 0; i < abi.params.size(); ++i) {
    const AbiParam& p = abi.params[i];
    if (!t.empty()) t += ", ";
    t += std::string(p.written ? "float* " : "const float* ") + (packed && int(i) == abi.weights_param ? "packed_weights" : p.name);
  }
  return t;
}

/// A float constant as C writes it.
std::string c_float(double v) {
  if (std::isinf(v)) return v < 0 ? "(-INFINITY)" : "INFINITY";
  std::string t = std::to_string(v);
  return t + "f";
}

/// Where element (i0, i1, ...) of a parameter lies in its blocked layout, as C index text.
std::string blocked_index_text(const AbiBlocked& b, const std::string& letters) {
  std::string t;
  for (size_t d = 0; d < letters.size(); ++d) {
    const std::string v = lower(letters[d]);
    int64_t block = 0;
    for (const auto& [dim, size] : b.blocks) {
      if (dim == int(d)) block = size;
    }
    if (block) t += "[" + v + "/" + std::to_string(block) + "]";
    else if (b.offsets[d]) t += "[" + v + "+" + std::to_string(b.offsets[d]) + "]";
    else t += "[" + v + "]";
  }
  for (const auto& [dim, size] : b.blocks) {
    t += "[" + lower(letters[size_t(dim)]) + "%" + std::to_string(size) + "]";
  }
  return t;
}

/// NAME_run_blocked and the constants that describe its layouts.
std::string blocked_section(const KernelAbi& abi) {
  const std::string& n = abi.name;
  const std::string N = upper(n);
  std::string h = "/* " + n + "_run_blocked: " + n + "_run with ";
  for (size_t i = 0; i < abi.blocked.size(); ++i) h += (i ? " and the " : "the ") + abi.params[size_t(abi.blocked[i].param)].name;
  h += " in the kernel's own\n * layout" + std::string(abi.blocked.size() > 1 ? "s" : "") +
       ", for callers that keep tensors so between kernels: no conversion on the way, the\n"
       " * same workspace. Returns " + N + "_OK.\n";
  for (const AbiBlocked& b : abi.blocked) {
    const AbiParam& p = abi.params[size_t(b.param)];
    h += " *   " + p.name + "_blocked: layout " + b.layout + ", float" + dims_text(b.shape) + "; element (";
    for (size_t d = 0; d < p.layout.size(); ++d) h += (d ? ", " : "") + lower(p.layout[d]);
    h += ") at " + blocked_index_text(b, p.layout) + ";\n";
    h += p.written ? " *     the other elements are left undefined\n"
                   : " *     every other element must hold " + N + "_" + upper(p.name) + "_EXTERIOR (the padding, the spare\n"
                     " *     channels of the last block)\n";
  }
  h += " */\n";
  for (const AbiBlocked& b : abi.blocked) {
    const AbiParam& p = abi.params[size_t(b.param)];
    const std::string P = N + "_" + upper(p.name);
    h += "#define " + P + "_BLOCKED_ELEMENTS " + std::to_string(elements_of(b.shape)) + "\n";
    for (size_t i = 0; i < b.shape.size(); ++i) h += "#define " + P + "_BLOCKED_EXTENT_" + std::to_string(i) + " " + std::to_string(b.shape[i]) + "\n";
    for (const auto& [dim, size] : b.blocks) h += "#define " + P + "_BLOCK_" + p.layout[size_t(dim)] + " " + std::to_string(size) + "\n";
    for (size_t d = 0; d < p.layout.size(); ++d) h += "#define " + P + "_OFFSET_" + p.layout[d] + " " + std::to_string(b.offsets[d]) + "\n";
    if (!p.written) h += "#define " + P + "_EXTERIOR " + c_float(b.exterior_value) + "\n";
  }
  std::string args;
  for (size_t i = 0; i < abi.params.size(); ++i) {
    const AbiParam& p = abi.params[i];
    bool blocked = false;
    for (const AbiBlocked& b : abi.blocked) blocked = blocked || b.param == int(i);
    args += std::string(i ? ", " : "") + (p.written ? "float* " : "const float* ") +
            (blocked ? p.name + "_blocked" : int(i) == abi.weights_param ? "packed_weights" : p.name);
  }
  h += "int " + n + "_run_blocked(" + args + ", void* workspace);\n\n";
  return h;
}

} // namespace

bool is_c_identifier(const std::string& name) {
  static const std::set<std::string> keywords = {
      "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
      "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
      "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
      "_Bool", "_Complex", "_Imaginary"};
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return !keywords.count(name);
}

namespace {

/// The declarations of one kernel.
std::string kernel_section(const KernelAbi& abi, const HeaderProvenance& from) {
  const std::string& n = abi.name;
  const std::string N = upper(n);
  std::string h;
  h += "/* ---- " + n + "\n";
  h += " *   workload  " + from.workload + "\n";
  h += " *   key       " + from.key + "\n";
  h += " *   target    " + from.target + "\n";
  h += " *   schedule  " + from.schedule + " */\n";
  for (const AbiParam& p : abi.params) {
    h += "/* " + p.name + ": float" + dims_text(p.shape) + ", layout " + p.layout + (p.written ? ", written" : ", read") + " */\n";
    h += "#define " + N + "_" + upper(p.name) + "_ELEMENTS " + std::to_string(elements_of(p.shape)) + "\n";
  }
  h += "\n/* The workspace " + n + "_run needs: its temporaries (packed layouts, intermediate stages). */\n";
  h += "#define " + N + "_WORKSPACE_BYTES " + std::to_string(abi.workspace_bytes) + "\n";
  h += "#define " + N + "_WORKSPACE_ALIGN " + std::to_string(KernelAbi::kWorkspaceAlign) + "\n\n";
  h += "/* Return codes of the entries. */\n";
  h += "#define " + N + "_OK " + std::to_string(kKernelOk) + "\n";
  h += "#define " + N + "_OUT_OF_MEMORY " + std::to_string(kKernelOutOfMemory) + "\n";
  h += "/* The kernel was compiled for CPU features this machine lacks (checked on the first call, with\n";
  h += " * a message on stderr); nothing ran. */\n";
  h += "#define " + N + "_CPU_UNSUPPORTED " + std::to_string(kKernelCpuUnsupported) + "\n\n";
  h += "/* Runs the kernel; allocates its workspace for the call and frees it. Returns " + N + "_OK, or\n";
  h += " * " + N + "_OUT_OF_MEMORY when the workspace cannot be allocated. */\n";
  h += "int " + n + "(" + params_text(abi) + ");\n\n";
  if (abi.weights_param >= 0) {
    h += "/* For repeated calls with fixed weights: " + n + "_pack_weights writes the weights in the\n";
    h += " * kernel's own layout (" + N + "_PACKED_WEIGHTS_BYTES bytes; aligned to " + N + "_WORKSPACE_ALIGN, the\n";
    h += " * kernel's vector loads do not cross cache lines); " + n + "_run takes that packed form\n";
    h += " * and the caller's workspace (" + N + "_WORKSPACE_BYTES bytes, aligned to " + N + "_WORKSPACE_ALIGN;\n";
    h += " * NULL when that is 0) and does no allocation. Returns " + N + "_OK. */\n";
    h += "#define " + N + "_PACKED_WEIGHTS_BYTES " + std::to_string(abi.packed_weights_bytes) + "\n";
    h += "void " + n + "_pack_weights(const float* weights, float* packed_weights);\n";
    h += "static inline size_t " + n + "_packed_weights_size(void) { return " + N + "_PACKED_WEIGHTS_BYTES; }\n";
    h += "int " + n + "_run(" + params_text(abi, true) + ", void* workspace);\n\n";
  } else {
    h += "/* Runs the kernel with the caller's workspace (" + N + "_WORKSPACE_BYTES bytes, aligned to\n";
    h += " * " + N + "_WORKSPACE_ALIGN; NULL when that is 0): no allocation. Returns " + N + "_OK. */\n";
    h += "int " + n + "_run(" + params_text(abi) + ", void* workspace);\n\n";
  }
  if (!abi.blocked.empty()) h += blocked_section(abi);
  h += "static inline size_t " + n + "_workspace_size(void) { return " + N + "_WORKSPACE_BYTES; }\n\n";
  h += "static inline void " + n + "_set_threads(int threads) { convtune_set_num_threads(threads); }\n\n";
  return h;
}

} // namespace

std::string c_header(const std::vector<HeaderKernel>& kernels, const std::string& guard) {
  std::string h;
  h += "/* " + guard + ": convolution kernels compiled ahead of time by convtune.\n";
  h += " * Link with their objects (or library) and libconvtune_rt.a (and -lpthread). Tensors are\n";
  h += " * dense, row-major fp32 arrays in the layouts below; a kernel reads its inputs and writes\n";
  h += " * every element of its output. */\n";
  h += "#ifndef CONVTUNE_" + upper(guard) + "_H\n#define CONVTUNE_" + upper(guard) + "_H\n\n";
  h += "#include <stddef.h>\n";
  bool infinite = false;
  for (const HeaderKernel& k : kernels) {
    for (const AbiBlocked& b : k.abi.blocked) infinite = infinite || std::isinf(b.exterior_value);
  }
  if (infinite) h += "#include <math.h> /* INFINITY */\n";
  h += "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  h += "/* The threads the parallel loops of every convtune kernel in the program use (1 at start).\n";
  h += " * From libconvtune_rt; set it outside the kernels' calls. */\n";
  h += "void convtune_set_num_threads(int threads);\n\n";
  for (const HeaderKernel& k : kernels) h += kernel_section(k.abi, k.from);
  h += "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return h;
}

std::string c_header(const KernelAbi& abi, const HeaderProvenance& from) { return c_header({{abi, from}}, "kernel_" + abi.name); }

} // namespace convtune
