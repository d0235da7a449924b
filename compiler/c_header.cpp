/// \file The C header of an ahead-of-time kernel (see the header).
#include "compiler/c_header.h"

#include <cctype>
#include <set>

namespace convtune {

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

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
  h += "#include <stddef.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  h += "/* The threads the parallel loops of every convtune kernel in the program use (1 at start).\n";
  h += " * From libconvtune_rt; set it outside the kernels' calls. */\n";
  h += "void convtune_set_num_threads(int threads);\n\n";
  for (const HeaderKernel& k : kernels) h += kernel_section(k.abi, k.from);
  h += "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return h;
}

std::string c_header(const KernelAbi& abi, const HeaderProvenance& from) { return c_header({{abi, from}}, "kernel_" + abi.name); }

} // namespace convtune
