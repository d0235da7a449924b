/// \file The parent side of isolated measurement: spawn the worker, send a job line, wait for
/// the result line with a deadline, and turn a death or a silence into a failed trial.
#include "tuner/measurer.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "ir/error.h"

namespace convtune {

namespace {

using Clock = std::chrono::steady_clock;

std::string signal_name(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGABRT: return "SIGABRT";
  case SIGBUS: return "SIGBUS";
  case SIGFPE: return "SIGFPE";
  case SIGILL: return "SIGILL";
  case SIGKILL: return "SIGKILL";
  default: return "SIG" + std::to_string(sig);
  }
}

} // namespace

std::string current_executable() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw InternalError("cannot read /proc/self/exe");
  return std::string(buf, size_t(n));
}

Measurer::Measurer(std::string worker_binary, MeasureOptions options)
    : binary_(std::move(worker_binary)), options_(options) {
  // A worker that dies while we write to it must not kill the parent.
  signal(SIGPIPE, SIG_IGN);
}

Measurer::~Measurer() { stop_worker(); }

void Measurer::start_worker() {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw InternalError("pipe: " + std::string(strerror(errno)));
  pid_t pid = fork();
  if (pid < 0) throw InternalError("fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    // The child only sets up its pipes and execs: nothing else is safe after fork in a
    // process that may hold threads.
    dup2(in[0], 0);
    dup2(out[1], 1);
    execl(binary_.c_str(), binary_.c_str(), "worker", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  pid_ = pid;
  to_worker_ = in[1];
  from_worker_ = out[0];
  pending_.clear();
}

void Measurer::stop_worker() {
  if (pid_ < 0) return;
  close(to_worker_);
  close(from_worker_);
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

MeasureResult Measurer::run_job(const nlohmann::json& job) {
  // Each candidate's JIT code is freed; measured on C12, the worker's resident size rises from
  // about 97 MB after the first candidate to a plateau near 125-130 MB (LLVM's and malloc's
  // caches). A fresh worker now and then bounds a long session's footprint whatever grows.
  if (pid_ >= 0 && jobs_in_worker_ >= kJobsPerWorker) stop_worker();
  if (pid_ < 0) {
    start_worker();
    jobs_in_worker_ = 0;
  }
  ++jobs_in_worker_;
  const auto start = Clock::now();
  MeasureResult result;
  std::string line = job.dump() + "\n";
  if (write(to_worker_, line.data(), line.size()) != ssize_t(line.size())) {
    stop_worker();
    result.error = "crash:worker_gone";
    return result;
  }
  const auto deadline = start + std::chrono::duration<double>(options_.timeout_s);
  for (;;) {
    size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string reply = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      nlohmann::json j = nlohmann::json::parse(reply, nullptr, false);
      if (j.is_discarded()) {
        stop_worker();
        result.error = "crash:garbled_reply";
        return result;
      }
      result.ok = j.value("ok", false);
      result.error = j.value("error", "");
      result.times_ms = j.value("times_ms", std::vector<double>{});
      result.median_ms = j.value("median_ms", 0.0);
      result.gflops = j.value("gflops", 0.0);
      result.compile_ms = j.value("compile_ms", 0.0);
      result.worker_rss_kb = j.value("rss_kb", 0L);
      result.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      return result;
    }
    const double left_ms = std::chrono::duration<double, std::milli>(deadline - Clock::now()).count();
    pollfd pfd{from_worker_, POLLIN, 0};
    int ready = left_ms > 0 ? poll(&pfd, 1, int(left_ms) + 1) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      stop_worker();
      result.error = "timeout";
      result.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      return result;
    }
    char buf[65536];
    ssize_t n = read(from_worker_, buf, sizeof buf);
    if (n > 0) {
      pending_.append(buf, size_t(n));
      continue;
    }
    // End of file: the worker died. Its exit status says how.
    int status = 0;
    waitpid(pid_, &status, 0);
    close(to_worker_);
    close(from_worker_);
    pid_ = -1;
    result.error = WIFSIGNALED(status) ? "crash:" + signal_name(WTERMSIG(status))
                                       : "crash:exit_" + std::to_string(WEXITSTATUS(status));
    result.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    return result;
  }
}

MeasureResult Measurer::measure(const Workload& wl, const Schedule& schedule, const std::string& test_hook) {
  nlohmann::json job = {{"kind", "convtune"},
                        {"workload", wl},
                        {"schedule", to_json(schedule)},
                        {"threads", options_.threads},
                        {"repeat", options_.repeat},
                        {"min_repeat_ms", options_.min_repeat_ms},
                        {"flush_cache", options_.flush_cache}};
  if (!test_hook.empty()) job["test_hook"] = test_hook;
  return run_job(job);
}

MeasureResult Measurer::measure_onednn(const Workload& wl) {
  nlohmann::json job = {{"kind", "onednn"},
                        {"workload", wl},
                        {"threads", options_.threads},
                        {"repeat", options_.repeat},
                        {"min_repeat_ms", options_.min_repeat_ms},
                        {"flush_cache", options_.flush_cache}};
  return run_job(job);
}

} // namespace convtune
