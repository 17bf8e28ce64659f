// sweep ls DB: the sweeps of a database with their runs counted by status.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/format.h"
#include "store/store.h"

namespace sweep::cli {
namespace {

constexpr const char* kSweepCounts = R"sql(
SELECT s.id AS id, s.name AS sweep, COUNT(r.id) AS runs,
       COALESCE(SUM(r.status = 'done'), 0) AS done,
       COALESCE(SUM(r.status = 'running'), 0) AS running,
       COALESCE(SUM(r.status = 'pending'), 0) AS pending,
       COALESCE(SUM(r.status = 'failed'), 0) AS failed,
       COALESCE(SUM(r.status = 'diverged'), 0) AS diverged,
       COALESCE(SUM(r.status = 'interrupted'), 0) AS interrupted,
       COALESCE(SUM(r.status = 'pruned'), 0) AS pruned,
       s.updated AS updated, s.grid_path AS grid
FROM sweeps s LEFT JOIN runs r ON r.sweep_id = s.id
GROUP BY s.id ORDER BY s.id)sql";

struct LsOptions {
  std::string db;
};

int run_ls(const LsOptions& options) {
  auto store = Store::open(options.db, Store::Mode::read_only);
  const Store::QueryResult result = store->query(kSweepCounts);
  if (result.rows.empty()) {
    std::cout << options.db << " has no sweeps yet\n";
    return 0;
  }
  std::cout << query_table(result);
  return 0;
}

}  // namespace

Command ls_command(CLI::App& parent) {
  auto options = std::make_shared<LsOptions>();
  CLI::App* app = parent.add_subcommand("ls", "List the sweeps of a results database with run counts by status");
  app->footer(
      "List the sweeps stored in a results database: for each, how many runs it has and how many are done,\n"
      "running, pending, failed, diverged, interrupted or pruned, when it was last run and from which grid file.\n"
      "Read-only: safe while a sweep is running.");
  add_db_argument(*app, options->db);
  add_exit_codes(*app, "the sweeps were listed (or the database has none)",
                 "",
                 "no database at the path (results.db by default), or a bad option");
  return {app, [options] { return run_ls(*options); }};
}

}  // namespace sweep::cli
