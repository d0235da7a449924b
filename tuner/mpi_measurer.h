/// \file Tuning across machines with MPI (Debian's OpenMPI, through its C API). Under
/// `mpirun -np N convtune tune ...`, rank 0 searches and writes the database; ranks 1..N-1 each
/// measure the candidates rank 0 sends them with their own isolated worker (tuner/measurer.h),
/// so a crash or a hang stays a failed trial there too. Outside mpirun nothing changes.
///
/// Per trial, rank 0 serialises a candidate (its workload and schedule, ~1-3 KB of JSON) and
/// reads back a result of a few hundred bytes; its own work per batch is the searcher's
/// proposal (a Gaussian-process fit, ~0.1-1 s) and the database appends. Ranks measure a
/// batch's candidates in parallel, round robin, so with R measuring ranks a batch of B takes
/// about ceil(B/R) trial times plus the proposal: the proposal, serial on rank 0, bounds the
/// speed-up once B/R is small (R >= B gives nothing more for a batch of B).
#pragma once

#include <string>
#include <vector>

#include "tuner/measurer.h"

namespace convtune {

/// The MPI job this process belongs to: initialised when mpirun launched it, finalised at
/// scope exit. Inactive (rank 0 of 1) outside mpirun.
class MpiSession {
public:
  /// UserError when mpirun launched this process but convtune was built without MPI.
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  /// Whether other ranks measure for this one (an MPI job of two or more ranks).
  bool active() const { return size_ > 1; }
  int rank() const { return rank_; }
  int size() const { return size_; }

  /// Collective: "" when every rank reports the same `value`, else one line naming `what`,
  /// rank 0's value and each rank that differs with its own (the same line on every rank; no
  /// rank serves then).
  std::string disagreement(const std::string& what, const std::string& value);

  /// Ranks 1..N-1: measures what rank 0 sends, with `local`, until rank 0 says stop.
  void serve(Measurer& local) const;
  /// Rank 0: tells every other rank to stop serving (also done at scope exit).
  void stop_serving();

private:
  int rank_ = 0, size_ = 1;
  bool initialised_ = false, stopped_ = false;
};

/// Rank 0's measurer: a batch's candidates sent round robin to ranks 1..N-1, each rank
/// measuring its share in order (its compiles overlapped with its measurements as locally).
class MpiMeasurer : public BatchMeasurer {
public:
  MpiMeasurer(const MpiSession& session, MeasureOptions options);
  void measure_all(const std::vector<Candidate>& candidates,
                   const std::function<void(size_t, const MeasureResult&)>& done) override;
  const MeasureOptions& options() const override { return options_; }
  /// Trials each rank measured (rank 0's entry stays 0).
  const std::vector<int>& measured_by_rank() const { return measured_; }

private:
  const MpiSession& session_;
  MeasureOptions options_;
  std::vector<int> measured_;
};

} // namespace convtune
