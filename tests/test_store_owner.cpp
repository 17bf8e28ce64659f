// Run owners (schema version 3): the owner text, when an owner counts as gone,
// start_run's claim (only one process trains a run), which 'running' runs
// mark_stale_running_interrupted may take as dead, and the v2 -> v3 migration.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "store/owner.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace sweep;
using sweep::test::TempDir;

namespace {

// The owner text of a process of this host that has exited (and was reaped).
std::string dead_owner() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return this_host() + ":" + std::to_string(child) + ":12345";
}

// This process's pid with another start time: what a reused pid looks like.
std::string reused_pid_owner() { return this_host() + ":" + std::to_string(::getpid()) + ":1"; }

PlannedRun planned(const std::string& hash) {
  PlannedRun run;
  run.hash = hash;
  run.config = json{{"name", hash}}.dump();
  return run;
}

SweepRecord sweep_named(const std::string& name) {
  SweepRecord sweep;
  sweep.name = name;
  return sweep;
}

void exec(Store& store, const std::string& sql) {
  REQUIRE(sqlite3_exec(store.handle(), sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
}

std::string owner_of(Store& store, int64_t run) {
  return store.query("SELECT owner FROM runs WHERE id = " + std::to_string(run)).rows.at(0).at(0).value_or("NULL");
}

// Put a run in 'running' under `owner` ("NULL" for none), as a process would have left it.
void set_running(Store& store, int64_t run, const std::string& owner) {
  const std::string value = owner == "NULL" ? owner : "'" + owner + "'";
  exec(store, "UPDATE runs SET status = 'running', owner = " + value + " WHERE id = " + std::to_string(run));
}

}  // namespace

TEST_CASE("the owner text names this host, this pid and its start time") {
  const auto owner = parse_owner(this_process_owner());
  REQUIRE(owner.has_value());
  CHECK(owner->host == this_host());
  CHECK(owner->pid == static_cast<long>(::getpid()));
  if (fs::exists("/proc/self/stat")) CHECK(owner->start > 0);

  const auto colons = parse_owner("a:b:c:42:7");  // a host with ':' in it
  REQUIRE(colons.has_value());
  CHECK(colons->host == "a:b:c");
  CHECK(colons->pid == 42);
  CHECK(colons->start == 7);
  for (const char* bad : {"", "host", "host:12", "host:x:1", "host:1:y", "host:1:2z"}) CHECK_FALSE(parse_owner(bad));
  CHECK(owner_description(this_process_owner()) == "pid " + std::to_string(::getpid()));
  CHECK(owner_description("node17:42:7") == (this_host() == "node17" ? "pid 42" : "pid 42 on node17"));
}

TEST_CASE("an owner is stale when its process is gone here or unknown, never when it lives or is elsewhere") {
  CHECK_FALSE(owner_is_stale(this_process_owner()));
  CHECK(owner_is_stale(dead_owner()));
  if (fs::exists("/proc/self/stat")) CHECK(owner_is_stale(reused_pid_owner()));
  CHECK(owner_is_stale(""));           // NULL: written by a sweep older than schema version 3
  CHECK(owner_is_stale("garbage"));
  CHECK_FALSE(owner_is_stale("another-host-" + this_host() + ":1:1"));  // cannot be checked: left alone
}

TEST_CASE("start_run claims a run once: a live owner keeps it, a dead or unknown one loses it") {
  TempDir dir("owner_test");
  auto first = Store::open(dir.file("r.db"));
  const int64_t id = first->upsert_sweep(sweep_named("s"), {planned("a"), planned("b")});
  const int64_t run = first->runs_of(id)[0].id;

  const Claim claim = first->start_run(run, "cpu", "cpu", 1, 0);
  CHECK(claim.claimed);
  CHECK(owner_of(*first, run) == this_process_owner());
  CHECK(first->runs_of(id)[0].owner == this_process_owner());

  // A second store stands in for a second process: this process is alive, so the claim fails.
  auto second = Store::open(dir.file("r.db"));
  const Claim again = second->start_run(run, "cpu", "cpu", 1);
  CHECK_FALSE(again.claimed);
  CHECK(again.status == RunStatus::running);
  CHECK(again.owner == this_process_owner());
  CHECK(second->runs_of(id)[0].attempts == 1);  // left exactly as it was

  SUBCASE("a dead owner's run is reclaimed, its earlier attempt cleared") {
    EpochMetrics epoch;
    epoch.epoch = 1;
    first->record_epoch(run, epoch);
    set_running(*second, run, dead_owner());
    CHECK(second->start_run(run, "cpu", "cpu", 1, 1).claimed);
    CHECK(second->runs_of(id)[0].attempts == 2);
    CHECK(second->query("SELECT COUNT(*) FROM epochs").rows[0][0] == "0");
  }
  SUBCASE("a reused pid is not the owner") {
    if (!fs::exists("/proc/self/stat")) return;
    set_running(*second, run, reused_pid_owner());
    CHECK(second->start_run(run, "cpu", "cpu", 1).claimed);
  }
  SUBCASE("NULL (an older sweep) counts as dead") {
    set_running(*second, run, "NULL");
    CHECK(second->start_run(run, "cpu", "cpu", 1).claimed);
    CHECK(owner_of(*second, run) == this_process_owner());
  }
  SUBCASE("another host's run is left alone") {
    set_running(*second, run, "another-host-" + this_host() + ":1:1");
    const Claim other = second->start_run(run, "cpu", "cpu", 1);
    CHECK_FALSE(other.claimed);
    CHECK(other.owner == "another-host-" + this_host() + ":1:1");
  }
  SUBCASE("a run started since the caller read it is not started again, even once it has ended") {
    RunResult done;
    done.status = RunStatus::done;
    first->finish_run(run, done);
    const Claim late = second->start_run(run, "cpu", "cpu", 1, 0);  // planned when it had 0 attempts
    CHECK_FALSE(late.claimed);
    CHECK(late.status == RunStatus::done);
    CHECK(second->runs_of(id)[0].status == RunStatus::done);
    CHECK(second->start_run(run, "cpu", "cpu", 1, 1).claimed);  // read after it ended: a retry may take it
  }
  CHECK_THROWS(second->start_run(999, "cpu", "cpu", 1));
}

TEST_CASE("only runs of dead or unknown owners become interrupted, unless every running run is to be") {
  TempDir dir("owner_test");
  auto store = Store::open(dir.file("r.db"));
  const int64_t id =
      store->upsert_sweep(sweep_named("s"), {planned("live"), planned("dead"), planned("null"), planned("remote")});
  const auto rows = store->runs_of(id);
  const std::string remote = "another-host-" + this_host() + ":1:1";
  set_running(*store, rows[0].id, this_process_owner());
  set_running(*store, rows[1].id, dead_owner());
  set_running(*store, rows[2].id, "NULL");
  set_running(*store, rows[3].id, remote);

  CHECK(store->mark_stale_running_interrupted(id) == 2);
  auto after = store->runs_of(id);
  CHECK(after[0].status == RunStatus::running);
  CHECK(after[1].status == RunStatus::interrupted);
  CHECK(after[2].status == RunStatus::interrupted);
  CHECK(after[3].status == RunStatus::running);
  CHECK(store->query("SELECT error FROM runs WHERE id = " + std::to_string(rows[1].id)).rows[0][0] ==
        "the sweep process running it ended before it finished");
  CHECK(store->mark_stale_running_interrupted(id) == 0);

  // A Slurm task's shard: nothing else writes it, so a requeued task takes all.
  CHECK(store->mark_stale_running_interrupted(id, StaleRuns::all_running) == 2);
  for (const RunRow& row : store->runs_of(id)) CHECK(row.status == RunStatus::interrupted);
}

TEST_CASE("a version 2 database gains runs.owner (NULL: stale); read-only opens read it without one") {
  TempDir dir("owner_test");
  const std::string path = dir.file("v2.db");
  {
    auto store = Store::open(path);
    const int64_t id = store->upsert_sweep(sweep_named("old"), {planned("a"), planned("b")});
    exec(*store, "UPDATE runs SET status = 'running' WHERE id = " + std::to_string(store->runs_of(id)[0].id));
    // Back to version 2: the runs table as version 2 made it, without owner,
    // in_grid, checkpoint and resumed_from_epoch, sweeps without
    // grid_fingerprint and grid_runs, no evaluations table (and no results
    // view, which reads in_grid; opening rebuilds it).
    exec(*store, "DROP VIEW results; ALTER TABLE runs DROP COLUMN in_grid; ALTER TABLE runs DROP COLUMN owner; "
                 "DROP TABLE prune_decisions; DROP TABLE search_trials; ALTER TABLE runs DROP COLUMN continued; ALTER TABLE runs DROP COLUMN pruned_epoch; "
                 "ALTER TABLE sweeps DROP COLUMN grid_fingerprint; ALTER TABLE sweeps DROP COLUMN grid_runs; "
                 "ALTER TABLE runs DROP COLUMN checkpoint; ALTER TABLE runs DROP COLUMN resumed_from_epoch; "
                 "DROP TABLE evaluations; ALTER TABLE sweeps DROP COLUMN provenance; DROP TABLE step_costs; "
                 "PRAGMA user_version = 2");
    CHECK(store->query("SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'owner'").rows[0][0] == "0");
  }
  {
    auto reader = Store::open(path, Store::Mode::read_only);  // `sweep status` on an old database
    CHECK(reader->query("PRAGMA user_version").rows[0][0] == "2");
    const auto rows = reader->runs_of(1);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].status == RunStatus::running);
    CHECK(rows[0].owner.empty());
  }
  auto store = Store::open(path);
  CHECK(store->query("PRAGMA user_version").rows[0][0] == std::to_string(kSchemaVersion));
  CHECK(store->query("SELECT COUNT(*) FROM runs WHERE owner IS NULL").rows[0][0] == "2");
  CHECK(store->query("SELECT COUNT(*) FROM results").rows[0][0] == "2");
  // The run an older sweep left running has no owner: its process is taken as gone.
  CHECK(store->mark_stale_running_interrupted(1) == 1);
  CHECK(store->start_run(store->runs_of(1)[0].id, "cpu", "cpu", 1, 0).claimed);
}
