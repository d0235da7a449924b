/// \file The two error channels: a user's mistake (exit code 2) and an internal bug.
#pragma once

#include <stdexcept>
#include <string>

namespace convtune {

/// A mistake in what the user asked for (a bad spec, an illegal schedule, an unknown option).
/// The message is one line that names the offending field; the CLI prints it and exits with 2.
class UserError : public std::runtime_error {
public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

/// A broken invariant inside convtune: a bug to report, never the user's fault.
class InternalError : public std::logic_error {
public:
  explicit InternalError(const std::string& message) : std::logic_error(message) {}
};

/// Throws InternalError with `message` unless `condition` holds.
inline void internal_check(bool condition, const std::string& message) {
  if (!condition) throw InternalError("internal error: " + message);
}

} // namespace convtune
