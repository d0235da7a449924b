/// \file The tuning database: an append-only JSON-lines file of trial records, and its queries.
#pragma once

#include <iosfwd>
#include <sys/types.h>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

namespace convtune {

/// The key under which measurements of one target and thread count are comparable:
/// `target_key + "/t" + threads`.
std::string target_slot(const std::string& target_key, int threads);

/// One measured trial: a config of a template, on one workload and target, ok or failed.
/// Each record is one line of the database, complete in itself.
struct TrialRecord {
  std::string workload_key;  ///< Workload::key()
  nlohmann::json workload;   ///< the workload's JSON form, to rebuild it without a spec
  std::string target_key;    ///< Target::key()
  nlohmann::json target;     ///< the target's JSON form
  int threads = 1;           ///< worker threads the kernel ran with
  std::string template_name;
  int template_version = 1;  ///< bumped when a template's config -> schedule mapping changes
  nlohmann::json config;     ///< the knob values
  nlohmann::json schedule;   ///< the schedule trace the config produced
  bool ok = false;
  /// The failure reason when !ok: "wrong_result", "compile_timeout", "run_timeout", "out_of_memory", "crash:SIGSEGV",
  /// "compile_error: ...". Empty when ok.
  std::string error;
  std::vector<double> times_ms;  ///< one entry per timed measurement
  double median_ms = 0;
  double gflops = 0;
  std::string timestamp;  ///< ISO 8601 UTC, see iso_timestamp_now()
  std::string version;    ///< the convtune version that measured it

  /// The lookup key of the record's target: measurements with different thread counts are
  /// not comparable, so the thread count is part of it: target_key + "/t" + threads.
  std::string target_slot() const;
};

void to_json(nlohmann::json& j, const TrialRecord& r);
/// Reads a record; a missing required field or a field of the wrong type is a UserError naming
/// the field. Unknown fields are ignored (records written by a newer convtune still load).
void from_json(const nlohmann::json& j, TrialRecord& r);

/// The current time as ISO 8601 UTC with milliseconds, e.g. "2024-05-01T12:34:56.789Z".
std::string iso_timestamp_now();

/// The tuning database: one JSON record per line, only ever appended to, never rewritten.
///
/// Invariance: every line that reached the disk stays readable. append() writes each record
/// with one write(2) on an O_APPEND descriptor under an exclusive flock (so lines of concurrent
/// writers never interleave, and a torn line is ended before the next) and fsyncs it, so a
/// crash loses at most the record in flight; load() skips a torn or corrupt line with a
/// warning and keeps going.
///
/// Pointers returned by find() and best() point into records(); append() and load() invalidate
/// them.
class Database {
public:
  /// Opens the file at `path` for appending, creating it if missing; does not read it yet.
  /// Throws UserError "cannot open tuning database 'PATH': <reason>" when it cannot.
  explicit Database(std::string path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;

  /// Reads every line, replacing what was loaded before. A line that is not JSON, or JSON that
  /// is not a valid record, is skipped with a warning naming the file and line number, e.g.
  /// "warning: convtune.db.jsonl:17: skipped a corrupt record (...)". Never fatal for such
  /// lines; only an unreadable file throws UserError.
  void load(std::ostream& warnings);

  /// Appends one record as a line of compact JSON and fsyncs it; it is also added to records().
  /// If the file's last line is torn (no final '\n'), the record starts on a new line.
  /// Throws UserError "cannot write tuning database 'PATH': <reason>" when the write fails.
  void append(const TrialRecord& r);

  /// Reads the records other processes appended since load() or the last refresh (this
  /// process's own appends are known already) and indexes them; returns how many were added,
  /// at the end of records(). Corrupt lines are skipped with a warning, as load() does. Tuning
  /// sessions sharing a file call it before each batch.
  size_t refresh(std::ostream& warnings);

  /// Every valid record, in file order (then the ones appended since load()).
  const std::vector<TrialRecord>& records() const { return records_; }

  /// The records of one workload on one target slot (TrialRecord::target_slot()), in file order.
  std::vector<const TrialRecord*> find(const std::string& workload_key,
                                       const std::string& target_slot) const;

  /// The ok record with the highest gflops (ties: the earliest), of template `template_name`
  /// when that is not empty; nullptr when none.
  const TrialRecord* best(const std::string& workload_key, const std::string& target_slot,
                          const std::string& template_name = "") const;

  /// Whether `config` of that template version was already measured (ok or failed) for that
  /// workload and target slot. Configs compare by value: key order does not matter.
  bool measured(const std::string& workload_key, const std::string& target_slot, const std::string& template_name,
                int template_version, const nlohmann::json& config) const;

  /// A CSV of every record: a header, then one row per record with columns
  /// timestamp,workload_key,target_slot,template,config,ok,error,median_ms,gflops.
  /// The config is compact JSON, always quoted; any field holding a comma, quote or newline is
  /// quoted, with quotes doubled (RFC 4180).
  std::string export_csv() const;

  const std::string& path() const { return path_; }

private:
  /// Adds records_[index] to the lookup indexes.
  void index(size_t index);
  /// Parses the complete lines from `read_offset_` to the end, skipping this process's own
  /// appends; returns how many records it added. A torn last line is warned about only with
  /// `warn_torn` (a load; a refresh waits until the line is ended).
  size_t read_new(std::ostream& warnings, bool warn_torn);

  std::string path_;
  int fd_ = -1;
  std::vector<TrialRecord> records_;
  /// workload_key + '\n' + target_slot -> indexes into records_, in order.
  std::unordered_map<std::string, std::vector<size_t>> by_slot_;
  /// Same key -> template, version and canonical (key-sorted, compact) config text of every
  /// config measured there.
  std::unordered_map<std::string, std::unordered_set<std::string>> measured_configs_;
  off_t read_offset_ = 0;   ///< the end of the last complete line read
  size_t lines_read_ = 0;   ///< lines before read_offset_, for warnings' line numbers
  /// Lines this process appended that a refresh has not passed yet (it skips them).
  std::unordered_multiset<std::string> own_lines_;
};

} // namespace convtune
