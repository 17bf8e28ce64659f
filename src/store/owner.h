// Which process trains a run: the `runs.owner` column (schema version 3).
//
// Several `sweep run` processes may work on one database and one grid (two
// terminals, or more cores on one shared file). Each claims a run before it
// trains it by writing its owner text, "<host>:<pid>:<start>", where <start>
// is the process's start time in clock ticks after boot (/proc/<pid>/stat
// field 22; 0 where there is no /proc). The start time tells the owner apart
// from a later process that got the same pid after the owner died.
//
// Only a process on the same host can be checked; an owner on another host
// is taken to be alive (its runs are left alone). NULL (a row written by a
// sweep older than version 3, or collected from a Slurm shard) is unknown and
// treated as gone, as every sweep did before owners existed.
#pragma once
#include <optional>
#include <string>

namespace sweep {

struct RunOwner {
  std::string host;
  long pid = 0;
  unsigned long long start = 0;  // clock ticks after boot; 0 = unknown
};

// This machine's hostname ('' when it cannot be read).
std::string this_host();

// This process's owner text (computed once).
const std::string& this_process_owner();

// "<host>:<pid>:<start>" -> parts; nullopt when malformed. The host may itself
// contain ':' (the last two fields are split off).
std::optional<RunOwner> parse_owner(const std::string& text);

// True when the owner cannot be training anything any more: NULL/empty or
// malformed text, or a process on this host that is gone (no such pid, a
// zombie, or a pid now used by a process that started at another time).
// False for a live process here and for any owner on another host.
bool owner_is_stale(const std::string& owner);

// For messages: "pid 1234" here, "pid 1234 on node17" elsewhere, "an unknown process".
std::string owner_description(const std::string& owner);

}  // namespace sweep
