/// \file The parent side of isolated measurement: spawn the worker, send a job line, wait for
/// the result line with a deadline, and turn a death or a silence into a failed trial.
#include "tuner/measurer.h"

#include <sys/prctl.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>

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

long resident_kb() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

Measurer::Measurer(std::string worker_binary, MeasureOptions options)
    : binary_(std::move(worker_binary)), options_(options) {
  // A compile running beside a measurement that uses every core would slow it down.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  window_ = options_.overlap_compile && unsigned(options_.threads) < cores ? 2 : 1;
  double limit = options_.worker_memory_bytes;
  if (limit <= 0) limit = 0.75 * double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  memory_limit_arg_ = std::to_string(int64_t(limit));
  // A worker that dies while we write to it must not kill the parent.
  signal(SIGPIPE, SIG_IGN);
}

Measurer::~Measurer() { stop_worker(); }

void Measurer::start_worker() {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw InternalError("pipe: " + std::string(strerror(errno)));
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw InternalError("fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    // The child only sets up its pipes and execs: nothing else is safe after fork in a
    // process that may hold threads. It dies with the tuner (kill -9 included): a worker
    // measuring on for a tuner that is gone would only take a core.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);  // the tuner died before prctl took effect
    dup2(in[0], 0);
    dup2(out[1], 1);
    execl(binary_.c_str(), binary_.c_str(), "worker", "--memory-limit", memory_limit_arg_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  pid_ = pid;
  to_worker_ = in[1];
  from_worker_ = out[0];
  pending_.clear();
  compiled_.clear();
}

void Measurer::stop_worker() {
  if (pid_ < 0) return;
  close(to_worker_);
  close(from_worker_);
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool Measurer::send(const nlohmann::json& job) {
  // A fresh worker now and then bounds a long session's footprint whatever grows: each
  // candidate's JIT code is freed, but LLVM's and malloc's caches stay (measured on C12, the
  // resident size rises from about 97 MB after the first candidate to a plateau near 130 MB).
  if (pid_ < 0) {
    start_worker();
    jobs_in_worker_ = 0;
  }
  ++jobs_in_worker_;
  const std::string line = job.dump() + "\n";
  return write(to_worker_, line.data(), line.size()) == ssize_t(line.size());
}

std::variant<nlohmann::json, std::string> Measurer::next_reply(Clock::time_point deadline) {
  for (;;) {
    const size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      nlohmann::json reply = nlohmann::json::parse(pending_.substr(0, nl), nullptr, false);
      pending_.erase(0, nl + 1);
      if (reply.is_discarded() || !reply.is_object()) {
        stop_worker();
        return std::string("crash:garbled_reply");
      }
      // A progress line: the job's compile is done (a later silence is its run's).
      if (reply.contains("phase")) {
        if (reply["phase"] == "compiled" && reply.contains("id") && reply["id"].is_number_integer()) {
          compiled_.insert(reply["id"].get<int64_t>());
        }
        continue;
      }
      return reply;
    }
    const double left_ms = std::chrono::duration<double, std::milli>(deadline - Clock::now()).count();
    pollfd pfd{from_worker_, POLLIN, 0};
    const int ready = left_ms > 0 ? poll(&pfd, 1, int(left_ms) + 1) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      stop_worker();
      return std::string("timeout");
    }
    char buf[65536];
    const ssize_t n = read(from_worker_, buf, sizeof buf);
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
    return WIFSIGNALED(status) ? "crash:" + signal_name(WTERMSIG(status))
                               : "crash:exit_" + std::to_string(WEXITSTATUS(status));
  }
}

void Measurer::run_jobs(std::vector<nlohmann::json> jobs, const std::function<void(size_t, const MeasureResult&)>& done) {
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i]["id"] = i;
  compiled_.clear();  // ids count from 0 again
  size_t next = 0;             // the first job not yet sent
  size_t solo_before = 0;      // jobs below this index run alone (replays after a crash)
  int failed_sends = 0;
  std::deque<size_t> in_flight;
  // If `done` throws (the database cannot be written), jobs left in the worker would answer
  // the next call: the worker goes with them.
  struct StopIfAbandoned {
    Measurer& m;
    const std::deque<size_t>& in_flight;
    ~StopIfAbandoned() {
      if (!in_flight.empty()) m.stop_worker();
    }
  } guard{*this, in_flight};
  Clock::time_point head_since = Clock::now();
  // The jobs in flight go back to be sent again, in order, to a fresh worker.
  auto requeue = [&] {
    if (!in_flight.empty()) next = in_flight.front();
    in_flight.clear();
  };
  while (next < jobs.size() || !in_flight.empty()) {
    if (in_flight.empty() && pid_ >= 0 && jobs_in_worker_ >= kJobsPerWorker) stop_worker();
    while (next < jobs.size() && in_flight.size() < (next < solo_before ? 1 : window_)) {
      if (in_flight.empty()) head_since = Clock::now();
      in_flight.push_back(next);
      if (!send(jobs[next++])) {
        // The worker was gone before it could be blamed for anything: start another, twice.
        stop_worker();
        requeue();
        if (++failed_sends < 3) continue;
        MeasureResult gone;
        gone.error = "crash:worker_gone";
        done(next, gone);
        ++next;
        failed_sends = 0;
      }
    }
    if (in_flight.empty()) continue;
    const size_t head = in_flight.front();
    auto reply = next_reply(head_since + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.timeout_s)));
    MeasureResult result;
    result.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - head_since).count();
    if (auto* why = std::get_if<std::string>(&reply)) {
      // A silence is always the head's: the worker answers in order, and a compile that hangs
      // behind it does not hold the head's answer back. A death with two in flight may come
      // from the head's code or from the next one's compile: both are replayed alone.
      if (*why != "timeout" && in_flight.size() > 1) {
        solo_before = std::max(solo_before, in_flight.back() + 1);
        requeue();
        continue;
      }
      result.error = *why;
      // A silence is the compile's until the worker says the head is compiled.
      if (*why == "timeout") result.error = compiled_.count(int64_t(head)) ? "run_timeout" : "compile_timeout";
      in_flight.pop_front();
      requeue();
    } else {
      const nlohmann::json& j = std::get<nlohmann::json>(reply);
      if (j.contains("id") && j["id"] != head) throw InternalError("worker answered out of order");
      result.ok = j.value("ok", false);
      result.error = j.value("error", "");
      result.times_ms = j.value("times_ms", std::vector<double>{});
      result.median_ms = j.value("median_ms", 0.0);
      result.gflops = j.value("gflops", 0.0);
      result.compile_ms = j.value("compile_ms", 0.0);
      result.worker_rss_kb = j.value("rss_kb", 0L);
      result.target_key = j.value("target", "");
      in_flight.pop_front();
      // A worker that can measure no more (its GPU context broken) says so with its answer:
      // the jobs it holds go to a fresh one, none of them blamed.
      if (j.value("retire", false)) {
        stop_worker();
        requeue();
      }
    }
    failed_sends = 0;
    head_since = Clock::now();
    done(head, result);
  }
}

nlohmann::json Measurer::job(const std::string& kind, const Workload& wl) const {
  return {{"kind", kind},
          {"workload", wl},
          {"target", options_.target},
          {"threads", options_.threads},
          {"repeat", options_.repeat},
          {"min_repeat_ms", options_.min_repeat_ms},
          {"flush_cache", options_.flush_cache}};
}

void Measurer::measure_all(const std::vector<Candidate>& candidates,
                           const std::function<void(size_t, const MeasureResult&)>& done) {
  std::vector<nlohmann::json> jobs;
  for (const Candidate& c : candidates) {
    jobs.push_back(job("convtune", c.wl));
    jobs.back()["schedule"] = to_json(c.schedule);
    if (!c.test_hook.empty()) jobs.back()["test_hook"] = c.test_hook;
  }
  run_jobs(std::move(jobs), done);
}

MeasureResult Measurer::measure(const Workload& wl, const Schedule& schedule, const std::string& test_hook) {
  MeasureResult out;
  measure_all({{wl, schedule, test_hook}}, [&](size_t, const MeasureResult& r) { out = r; });
  return out;
}

MeasureResult Measurer::measure_onednn(const Workload& wl) {
  MeasureResult out;
  run_jobs({job("onednn", wl)}, [&](size_t, const MeasureResult& r) { out = r; });
  return out;
}

} // namespace convtune
