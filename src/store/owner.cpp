#include "store/owner.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace sweep {
namespace {

struct ProcStat {
  char state = '?';
  unsigned long long start = 0;
};

// /proc/<pid>/stat: "pid (comm) state ppid ... starttime ...". comm may hold
// spaces and parentheses, so fields are counted after its last ')'.
std::optional<ProcStat> read_proc_stat(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  ProcStat stat;
  fields >> stat.state;  // field 3
  std::string skip;
  for (int field = 4; field < 22 && fields >> skip; ++field) {
  }
  if (!(fields >> stat.start)) return std::nullopt;  // field 22: starttime
  return stat;
}

bool have_proc() {
  static const bool have = read_proc_stat(static_cast<long>(::getpid())).has_value();
  return have;
}

bool process_alive(long pid, unsigned long long start) {
  if (pid <= 0) return false;
  if (have_proc()) {
    const auto stat = read_proc_stat(pid);
    if (!stat) return false;                                        // no such process
    if (stat->state == 'Z' || stat->state == 'X') return false;     // exited, not yet reaped
    return start == 0 || stat->start == start;                      // else: a reused pid
  }
  // No /proc (not Linux): the pid alone, which a reused pid can fool.
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

std::string this_host() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

const std::string& this_process_owner() {
  static const std::string owner = [] {
    const long pid = static_cast<long>(::getpid());
    const auto stat = read_proc_stat(pid);
    return this_host() + ":" + std::to_string(pid) + ":" + std::to_string(stat ? stat->start : 0ULL);
  }();
  return owner;
}

std::optional<RunOwner> parse_owner(const std::string& text) {
  const size_t last = text.rfind(':');
  if (last == std::string::npos || last == 0) return std::nullopt;
  const size_t middle = text.rfind(':', last - 1);
  if (middle == std::string::npos) return std::nullopt;
  RunOwner owner;
  owner.host = text.substr(0, middle);
  try {
    size_t used = 0;
    const std::string pid = text.substr(middle + 1, last - middle - 1), start = text.substr(last + 1);
    owner.pid = std::stol(pid, &used);
    if (used != pid.size()) return std::nullopt;
    owner.start = std::stoull(start, &used);
    if (used != start.size()) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return owner;
}

bool owner_is_stale(const std::string& text) {
  const auto owner = parse_owner(text);
  if (!owner) return true;
  if (owner->host != this_host()) return false;  // cannot be checked from here: leave it alone
  return !process_alive(owner->pid, owner->start);
}

std::string owner_description(const std::string& text) {
  const auto owner = parse_owner(text);
  if (!owner) return "an unknown process";
  std::string description = "pid " + std::to_string(owner->pid);
  if (owner->host != this_host()) description += " on " + owner->host;
  return description;
}

}  // namespace sweep
