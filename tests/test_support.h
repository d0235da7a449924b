/// \file Test helpers shared by several test files: temporary paths, file contents, running the `convtune` tool, exact refusals, tiny IR and target builders.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <dlfcn.h>

#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "ir/error.h"
#include "ir/ir.h"
#include "targets/target.h"

/// REQUIREs that `expr` throws a UserError with exactly `message`: the type and the whole one-line
/// message, since a refusal's text is part of the interface.
#define REQUIRE_USER_ERROR(expr, message) \
  REQUIRE_THROWS_MATCHES(expr, ::convtune::UserError, Catch::Matchers::Message(message))

namespace convtune::testing {

/// A unique path under the temp directory, `convtune_test_<prefix>_<pid>_<n><suffix>`, removed
/// (with anything under it) at scope exit. Nothing is created there; a stale leftover is removed.
class TempPath {
public:
  TempPath(const std::string& prefix, const std::string& suffix) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("convtune_test_" + prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + suffix);
    std::filesystem::remove_all(path_);
  }
  ~TempPath() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  std::string str() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

/// The whole content of the file at `path`, byte for byte; "" when it cannot be read.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// How many non-empty lines the file at `path` holds (a database's records).
inline size_t non_empty_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

/// `word` quoted for /bin/sh: in single quotes, each `'` written as `'\''`.
inline std::string shell_quoted(const std::string& word) {
  std::string q = "'";
  for (char ch : word) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

/// What one run of the tool gave.
struct ToolRun {
  int exit_code = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// Runs the built tool (CONVTUNE_BINARY) with `args` and collects its exit code, stdout and
/// stderr. REQUIREs that it started and exited normally (not by a signal).
inline ToolRun run_convtune(const std::vector<std::string>& args) {
  TempPath err_path("tool", ".err");
  std::string command = shell_quoted(CONVTUNE_BINARY);
  for (const std::string& a : args) command += ' ' + shell_quoted(a);
  command += " 2>" + shell_quoted(err_path.str());

  ToolRun run;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, got);
  const int status = pclose(pipe);
  REQUIRE(WIFEXITED(status));
  run.exit_code = WEXITSTATUS(status);
  run.err = read_file(err_path.str());
  return run;
}

/// Runs `command` through the shell: its exit code, -1 when a signal ended it.
inline int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// The JSON a run printed on stdout; the run must have exited 0.
inline nlohmann::json parse_stdout(const ToolRun& o) {
  INFO("stdout: " << o.out << "\nstderr: " << o.err);
  REQUIRE(o.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(o.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

/// The tool must refuse `args` with exit code 2, nothing on stdout and exactly `line` on stderr.
inline void require_user_error(const std::vector<std::string>& args, const std::string& line) {
  const ToolRun run = run_convtune(args);
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 2);
  REQUIRE(run.out.empty());
  REQUIRE(run.err == line + "\n");
}

/// Whether this machine has a CUDA driver to load (the GPU runtime's tests run only without).
inline bool cuda_driver_present() {
  void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (handle) dlclose(handle);
  return handle != nullptr;
}

/// The integer variable `name`.
inline Expr var(const char* name) { return Var::make(name); }

/// `buffer[indices] = value;` with a float constant.
inline Stmt assign(BufferRef buffer, std::vector<Expr> indices, double value) {
  return Store::make(std::move(buffer), std::move(indices), FloatImm::make(value), false);
}

/// `for (name = 0; name < extent; name++) body`, a serial loop from 0.
inline Stmt serial_for(std::string name, Expr extent, Stmt body) {
  return For::make(std::move(name), Expr(0), std::move(extent), ForKind::Serial, std::move(body));
}

/// An x86-64 CPU target with a fixed vector width, so that what depends on it does not depend
/// on the host.
inline Target x86_target(const std::string& cpu, int vector_bits, int cores = 1) {
  Target t = parse_target(cpu);  // the factory's features and registers, whatever the host is
  REQUIRE(t.vector_bits == vector_bits);
  t.cores = cores;
  return t;
}

} // namespace convtune::testing
