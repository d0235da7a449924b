/// \file Rank 0 sends candidates, the other ranks measure them: MPI point-to-point messages of
/// JSON text (a job list to each rank, one result message per candidate).
#include "tuner/mpi_measurer.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "ir/error.h"

#ifdef CONVTUNE_MPI
// The C API only: OpenMPI's mpi.h pulls in its (deprecated) C++ bindings otherwise.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace convtune {

namespace {

/// The rank count mpirun gave this process (OpenMPI's, or a PMI's variable); 0 outside mpirun.
int launched_ranks() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    if (const char* v = std::getenv(var)) return std::atoi(v);
  }
  return 0;
}

#ifdef CONVTUNE_MPI
nlohmann::json result_to_json(const MeasureResult& m) {
  return {{"ok", m.ok},         {"error", m.error},           {"times_ms", m.times_ms},
          {"median_ms", m.median_ms}, {"gflops", m.gflops},    {"compile_ms", m.compile_ms},
          {"wall_ms", m.wall_ms},  {"worker_rss_kb", m.worker_rss_kb}, {"target_key", m.target_key}};
}

MeasureResult result_from_json(const nlohmann::json& j) {
  MeasureResult m;
  m.ok = j.at("ok").get<bool>();
  m.error = j.at("error").get<std::string>();
  m.times_ms = j.at("times_ms").get<std::vector<double>>();
  m.median_ms = j.at("median_ms").get<double>();
  m.gflops = j.at("gflops").get<double>();
  m.compile_ms = j.at("compile_ms").get<double>();
  m.wall_ms = j.at("wall_ms").get<double>();
  m.worker_rss_kb = j.at("worker_rss_kb").get<long>();
  m.target_key = j.at("target_key").get<std::string>();
  return m;
}

/// Message kinds: each rank's identity (the gather), a job list, one result, stop serving.
enum Tag { kIdentity = 1, kJobs = 2, kResult = 3, kStop = 4 };

void send_text(const std::string& text, int dest, int tag) {
  MPI_Send(text.data(), int(text.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD);
}

/// The next message from `source` (or any) with `tag` (or any): its text, sender and tag.
std::string receive_text(int source, int tag, MPI_Status& status) {
  MPI_Probe(source, tag, MPI_COMM_WORLD, &status);
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  std::string text(size_t(count), '\0');
  MPI_Recv(text.data(), count, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return text;
}
#endif

} // namespace

MpiSession::MpiSession() {
  const int launched = launched_ranks();
#ifdef CONVTUNE_MPI
  if (launched == 0) return;
  // The measuring worker is started with fork + exec: harmless for MPI, so OpenMPI's warning
  // about fork() is not wanted.
  setenv("OMPI_MCA_mpi_warn_on_fork", "0", 0);
  MPI_Init(nullptr, nullptr);
  initialised_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
#else
  if (launched > 1) {
    throw UserError("launched by mpirun with " + std::to_string(launched) +
                    " ranks, but this convtune was built without MPI (install libopenmpi-dev and rebuild)");
  }
#endif
}

MpiSession::~MpiSession() {
#ifdef CONVTUNE_MPI
  if (!initialised_) return;
  if (rank_ == 0) stop_serving();
  MPI_Finalize();
#endif
}

std::string MpiSession::disagreement(const std::string& what, const std::string& value) {
#ifdef CONVTUNE_MPI
  if (!initialised_ || size_ < 2) return "";
  // Rank 0 gathers every rank's value, writes the line, and every rank gets it.
  std::string line;
  if (rank_ == 0) {
    std::string differing;
    for (int r = 1; r < size_; ++r) {
      MPI_Status status;
      const std::string other = receive_text(r, kIdentity, status);
      if (other != value) differing += (differing.empty() ? "" : ", ") + ("rank " + std::to_string(r) + " has " + other);
    }
    if (!differing.empty()) line = "the ranks of this MPI job measure on different " + what + "s: rank 0 has " + value + ", " + differing;
  } else {
    send_text(value, 0, kIdentity);
  }
  int length = int(line.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  line.resize(size_t(length));
  MPI_Bcast(line.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (!line.empty()) stopped_ = true;  // nobody serves: nothing to stop
  return line;
#else
  (void)what;
  (void)value;
  return "";
#endif
}

void MpiSession::serve(Measurer& local) const {
#ifdef CONVTUNE_MPI
  internal_check(rank_ > 0, "rank 0 searches; only the other ranks serve");
  for (;;) {
    MPI_Status status;
    const std::string text = receive_text(0, MPI_ANY_TAG, status);
    if (status.MPI_TAG == kStop) return;
    const nlohmann::json jobs = nlohmann::json::parse(text);
    std::vector<Candidate> candidates;
    std::vector<int64_t> indices;
    for (const nlohmann::json& job : jobs) {
      candidates.push_back({job.at("workload").get<Workload>(), schedule_from_json(job.at("schedule")), job.at("test_hook").get<std::string>()});
      indices.push_back(job.at("index").get<int64_t>());
    }
    local.measure_all(candidates, [&](size_t i, const MeasureResult& m) {
      send_text(nlohmann::json{{"index", indices[i]}, {"result", result_to_json(m)}}.dump(), 0, kResult);
    });
  }
#else
  (void)local;
  internal_check(false, "serve() without MPI");
#endif
}

void MpiSession::stop_serving() {
#ifdef CONVTUNE_MPI
  if (!initialised_ || rank_ != 0 || stopped_) return;
  stopped_ = true;
  for (int r = 1; r < size_; ++r) send_text("", r, kStop);
#endif
}

MpiMeasurer::MpiMeasurer(const MpiSession& session, MeasureOptions options)
    : session_(session), options_(std::move(options)), measured_(size_t(session.size()), 0) {
  internal_check(session.active() && session.rank() == 0, "an MpiMeasurer belongs to rank 0 of an MPI job");
}

void MpiMeasurer::measure_all(const std::vector<Candidate>& candidates,
                              const std::function<void(size_t, const MeasureResult&)>& done) {
#ifdef CONVTUNE_MPI
  const int ranks = session_.size() - 1;
  std::vector<nlohmann::json> shares(size_t(ranks), nlohmann::json::array());
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    shares[i % size_t(ranks)].push_back({{"index", i}, {"workload", c.wl}, {"schedule", to_json(c.schedule)}, {"test_hook", c.test_hook}});
  }
  for (int r = 0; r < ranks; ++r) {
    if (!shares[size_t(r)].empty()) send_text(shares[size_t(r)].dump(), r + 1, kJobs);
  }
  for (size_t left = candidates.size(); left > 0; --left) {
    MPI_Status status;
    const nlohmann::json reply = nlohmann::json::parse(receive_text(MPI_ANY_SOURCE, kResult, status));
    ++measured_[size_t(status.MPI_SOURCE)];
    done(reply.at("index").get<size_t>(), result_from_json(reply.at("result")));
  }
#else
  (void)candidates;
  (void)done;
  internal_check(false, "an MpiMeasurer without MPI");
#endif
}

} // namespace convtune
