/// \file The tuning database: append-only JSON lines, torn-line tolerant loading, queries, CSV.
#include "tuner/database.h"

#include <sys/file.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <ostream>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/error.h"

namespace convtune {

namespace {

using nlohmann::json;

[[noreturn]] void refuse_record(const std::string& message) {
  throw UserError("tuning record: " + message);
}

const json* find_field(const json& j, const char* name) {
  const auto it = j.find(name);
  return it == j.end() ? nullptr : &*it;
}

const json& required_field(const json& j, const char* name) {
  const json* field = find_field(j, name);
  if (field == nullptr) refuse_record("missing field '" + std::string(name) + "'");
  return *field;
}

std::string read_string(const json& v, const char* name) {
  if (!v.is_string()) refuse_record("field '" + std::string(name) + "' must be a string");
  return v.get<std::string>();
}

int read_int(const json& v, const char* name) {
  const bool fits = v.is_number_integer() &&
                    (v.is_number_unsigned()
                         ? v.get<uint64_t>() <= uint64_t(std::numeric_limits<int>::max())
                         : v.get<int64_t>() >= std::numeric_limits<int>::min() &&
                               v.get<int64_t>() <= std::numeric_limits<int>::max());
  if (!fits) refuse_record("field '" + std::string(name) + "' must be an integer");
  return v.get<int>();
}

/// A number; null reads as NaN, because to_json writes a NaN or infinity as null.
double read_double(const json& v, const char* name) {
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!v.is_number()) refuse_record("field '" + std::string(name) + "' must be a number");
  return v.get<double>();
}

std::string optional_string(const json& j, const char* name) {
  const json* v = find_field(j, name);
  return v == nullptr ? std::string() : read_string(*v, name);
}

/// `slot` of the lookup indexes: one workload on one target slot.
std::string slot_key(const std::string& workload_key, const std::string& target_slot) {
  return workload_key + '\n' + target_slot;
}

/// The canonical text of a config: nlohmann::json keeps object keys sorted, so two configs
/// equal by value dump to the same text whatever order their keys were written in.
std::string canonical(const json& config) {
  return config.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// A config's identity in its slot: the same knob values under another template or version
/// are another trial.
std::string config_id(const std::string& template_name, int template_version, const json& config) {
  return template_name + '\n' + std::to_string(template_version) + '\n' + canonical(config);
}

/// Strips nlohmann's "[json.exception.parse_error.101] " prefix from a message.
std::string short_reason(const std::string& what) {
  if (what.rfind("[json.exception.", 0) != 0) return what;
  const size_t end = what.find("] ");
  return end == std::string::npos ? what : what.substr(end + 2);
}

/// A CSV field, quoted (quotes doubled) when `always` or when it holds a separator.
std::string csv_field(const std::string& text, bool always = false) {
  if (!always && text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

/// The shortest text that reads back as `v`; empty for NaN or infinity.
std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, result.ptr);
}

} // namespace

// ---- TrialRecord ----------------------------------------------------------------------------

std::string target_slot(const std::string& target_key, int threads) {
  return target_key + "/t" + std::to_string(threads);
}

std::string TrialRecord::target_slot() const {
  return convtune::target_slot(target_key, threads);
}

void to_json(json& j, const TrialRecord& r) {
  j = json{{"workload_key", r.workload_key},
           {"workload", r.workload},
           {"target_key", r.target_key},
           {"target", r.target},
           {"threads", r.threads},
           {"template_name", r.template_name},
           {"template_version", r.template_version},
           {"config", r.config},
           {"schedule", r.schedule},
           {"ok", r.ok},
           {"error", r.error},
           {"times_ms", r.times_ms},
           {"median_ms", r.median_ms},
           {"gflops", r.gflops},
           {"timestamp", r.timestamp},
           {"version", r.version}};
}

void from_json(const json& j, TrialRecord& r) {
  if (!j.is_object()) refuse_record("not a JSON object");
  TrialRecord out;
  // What identifies a trial is required; the rest has defaults, so older records still load.
  out.workload_key = read_string(required_field(j, "workload_key"), "workload_key");
  out.target_key = read_string(required_field(j, "target_key"), "target_key");
  out.threads = read_int(required_field(j, "threads"), "threads");
  if (out.threads < 1) refuse_record("field 'threads' must be at least 1");
  out.template_name = read_string(required_field(j, "template_name"), "template_name");
  out.config = required_field(j, "config");
  if (!out.config.is_object()) refuse_record("field 'config' must be an object");
  const json& ok = required_field(j, "ok");
  if (!ok.is_boolean()) refuse_record("field 'ok' must be true or false");
  out.ok = ok.get<bool>();

  if (const json* v = find_field(j, "workload")) out.workload = *v;
  if (const json* v = find_field(j, "target")) out.target = *v;
  if (const json* v = find_field(j, "schedule")) out.schedule = *v;
  if (const json* v = find_field(j, "template_version"))
    out.template_version = read_int(*v, "template_version");
  out.error = optional_string(j, "error");
  if (const json* v = find_field(j, "times_ms")) {
    if (!v->is_array()) refuse_record("field 'times_ms' must be an array of numbers");
    for (const json& t : *v) out.times_ms.push_back(read_double(t, "times_ms"));
  }
  if (const json* v = find_field(j, "median_ms")) out.median_ms = read_double(*v, "median_ms");
  if (const json* v = find_field(j, "gflops")) out.gflops = read_double(*v, "gflops");
  out.timestamp = optional_string(j, "timestamp");
  out.version = optional_string(j, "version");
  r = std::move(out);
}

std::string iso_timestamp_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = std::time_t(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[96];  // room for any int the compiler can imagine, so no truncation warning
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                int(ms % 1000));
  return text;
}

// ---- Database -------------------------------------------------------------------------------

Database::Database(std::string path) : path_(std::move(path)) {
  // O_CLOEXEC: the measurement harness forks children, which must not inherit the database.
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw UserError("cannot open tuning database '" + path_ + "': " + std::strerror(errno));
}

Database::~Database() {
  if (fd_ >= 0) ::close(fd_);
}

Database::Database(Database&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)),
      records_(std::move(other.records_)), by_slot_(std::move(other.by_slot_)),
      measured_configs_(std::move(other.measured_configs_)), read_offset_(other.read_offset_),
      lines_read_(other.lines_read_), own_lines_(std::move(other.own_lines_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this == &other) return *this;
  if (fd_ >= 0) ::close(fd_);
  path_ = std::move(other.path_);
  fd_ = std::exchange(other.fd_, -1);
  records_ = std::move(other.records_);
  by_slot_ = std::move(other.by_slot_);
  measured_configs_ = std::move(other.measured_configs_);
  read_offset_ = other.read_offset_;
  lines_read_ = other.lines_read_;
  own_lines_ = std::move(other.own_lines_);
  return *this;
}

/// Holds an advisory lock on the database file for a scope (flock: between processes).
class FileLock {
public:
  FileLock(int fd, int how) : fd_(fd) {
    while (::flock(fd_, how) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() { ::flock(fd_, LOCK_UN); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

private:
  int fd_;
};

void Database::load(std::ostream& warnings) {
  internal_check(fd_ >= 0, "Database::load on a moved-from database");
  records_.clear();
  by_slot_.clear();
  measured_configs_.clear();
  read_offset_ = 0;
  lines_read_ = 0;
  own_lines_.clear();  // whatever this process wrote is in the file now
  read_new(warnings, true);
}

size_t Database::refresh(std::ostream& warnings) {
  internal_check(fd_ >= 0, "Database::refresh on a moved-from database");
  return read_new(warnings, false);
}

size_t Database::read_new(std::ostream& warnings, bool warn_torn) {
  // Read through our own descriptor (O_APPEND only affects writes), under a shared lock: a
  // writer's line is never seen half written.
  std::string text;
  {
    FileLock lock(fd_, LOCK_SH);
    char buffer[1 << 16];
    for (off_t offset = read_offset_;;) {
      const ssize_t n = ::pread(fd_, buffer, sizeof buffer, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        throw UserError("cannot read tuning database '" + path_ + "': " + std::strerror(errno));
      if (n == 0) break;
      text.append(buffer, size_t(n));
      offset += n;
    }
  }
  const size_t before = records_.size();
  for (size_t begin = 0; begin < text.size();) {
    const size_t newline = text.find('\n', begin);
    const bool torn = newline == std::string::npos;  // a crash mid-write leaves no '\n'
    const size_t end = torn ? text.size() : newline;
    const std::string_view line(text.data() + begin, end - begin);
    // A refresh leaves a torn last line for later: it is warned about once it is ended.
    if (torn && !warn_torn) break;
    ++lines_read_;
    if (!torn) read_offset_ += off_t(end + 1 - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank line
    // This process's own record: indexed when it was appended.
    if (auto own = own_lines_.find(std::string(line)); own != own_lines_.end()) {
      own_lines_.erase(own);
      continue;
    }

    std::string reason;
    try {
      records_.push_back(json::parse(line).get<TrialRecord>());
      index(records_.size() - 1);
      continue;
    } catch (const json::exception& e) {
      reason = short_reason(e.what());
    } catch (const UserError& e) {
      reason = e.what();
    }
    if (torn) reason = "torn last line: " + reason;
    warnings << "warning: " << path_ << ":" << lines_read_ << ": skipped a corrupt record ("
             << reason << ")\n";
  }
  // A torn last line stays unread (and is counted again when it is read again).
  if (warn_torn && !text.empty() && text.back() != '\n') --lines_read_;
  return records_.size() - before;
}

void Database::append(const TrialRecord& r) {
  internal_check(fd_ >= 0, "Database::append on a moved-from database");
  const auto fail = [this](const char* what) {
    throw UserError("cannot write tuning database '" + path_ + "': " + what);
  };
  // `replace`: a failure message captured from a crashed child may hold invalid UTF-8.
  const std::string text = json(r).dump(-1, ' ', false, json::error_handler_t::replace);
  std::string line = text + '\n';

  // Other processes append under the same lock: lines never interleave, and the torn-line
  // check below and the write see the same end of file.
  FileLock lock(fd_, LOCK_EX);
  // A torn last line from an earlier crash: end it first, so this record starts its own line.
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail(std::strerror(errno));
  if (st.st_size > 0) {
    char last = '\n';
    if (::pread(fd_, &last, 1, st.st_size - 1) < 0) fail(std::strerror(errno));
    if (last != '\n') line.insert(line.begin(), '\n');
  }

  // One write(2) on an O_APPEND descriptor: the line lands whole at the end, after any
  // concurrent writer's. The loop only matters for a short write (a full disk, a signal).
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(std::strerror(errno));
    done += size_t(n);
  }
  // EINVAL: a special file (e.g. /dev/null) that has nothing to sync.
  int rc;
  do rc = ::fsync(fd_);
  while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINVAL) fail(std::strerror(errno));

  records_.push_back(r);
  index(records_.size() - 1);
  // A refresh will meet this line in the file: it is this process's, and known already.
  own_lines_.insert(text);
}

void Database::index(size_t i) {
  const TrialRecord& r = records_[i];
  const std::string key = slot_key(r.workload_key, r.target_slot());
  by_slot_[key].push_back(i);
  measured_configs_[key].insert(config_id(r.template_name, r.template_version, r.config));
}

std::vector<const TrialRecord*> Database::find(const std::string& workload_key,
                                               const std::string& target_slot) const {
  std::vector<const TrialRecord*> out;
  const auto it = by_slot_.find(slot_key(workload_key, target_slot));
  if (it == by_slot_.end()) return out;
  out.reserve(it->second.size());
  for (size_t i : it->second) out.push_back(&records_[i]);
  return out;
}

const TrialRecord* Database::best(const std::string& workload_key, const std::string& target_slot,
                                  const std::string& template_name) const {
  const TrialRecord* winner = nullptr;
  for (const TrialRecord* r : find(workload_key, target_slot)) {
    if (!r->ok || !std::isfinite(r->gflops)) continue;
    if (!template_name.empty() && r->template_name != template_name) continue;
    // Strictly greater: on a tie the earliest record stays.
    if (winner == nullptr || r->gflops > winner->gflops) winner = r;
  }
  return winner;
}

bool Database::measured(const std::string& workload_key, const std::string& target_slot, const std::string& template_name,
                        int template_version, const json& config) const {
  const auto it = measured_configs_.find(slot_key(workload_key, target_slot));
  return it != measured_configs_.end() && it->second.count(config_id(template_name, template_version, config)) != 0;
}

std::string Database::export_csv() const {
  std::string out = "timestamp,workload_key,target_slot,template,config,ok,error,median_ms,gflops\n";
  for (const TrialRecord& r : records_) {
    out += csv_field(r.timestamp) + ',' + csv_field(r.workload_key) + ',' +
           csv_field(r.target_slot()) + ',' + csv_field(r.template_name) + ',' +
           csv_field(canonical(r.config), /*always=*/true) + ',' + (r.ok ? "true" : "false") +
           ',' + csv_field(r.error) + ',' + csv_number(r.median_ms) + ',' +
           csv_number(r.gflops) + '\n';
  }
  return out;
}

} // namespace convtune
