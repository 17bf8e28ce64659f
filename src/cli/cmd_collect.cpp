// sweep collect DB: merge the Slurm array tasks' shards into the database.
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "slurm/collect.h"
#include "slurm/submission.h"

namespace sweep::cli {
namespace {

int run_collect(const std::string& db) {
  if (!std::filesystem::exists(db))
    throw InputError("no results database at " + db + " (sweep run GRID --db " + db + " --executor slurm creates it)");
  const slurm::CollectSummary summary = slurm::collect_shards(db);
  for (const std::string& note : summary.notes) std::cout << "note: " << note << "\n";
  std::cout << "collected " << summary.shards << (summary.shards == 1 ? " shard" : " shards") << " from "
            << (results_dir(db) / "shards").string() << ": " << summary.done_copied << " runs newly done, "
            << summary.updated << " updated, " << summary.unchanged << " unchanged\n";
  return kExitOk;
}

}  // namespace

Command collect_command(CLI::App& parent) {
  auto db = std::make_shared<std::string>();
  CLI::App* app = parent.add_subcommand("collect", "Merge the results of Slurm array tasks into the database");
  app->footer(
      "Each task of a job array submitted by `sweep run GRID --executor slurm` writes its own SQLite shard in\n"
      "<db>.d/shards/. collect merges them into the database by run hash: a run done in a shard replaces a\n"
      "not-done row with its metrics, epochs and confusion matrix; a run already done is never touched;\n"
      "interrupted or failed attempts update rows that are not done. Shards are read, never changed, so\n"
      "collect is safe while tasks still run and can be repeated (nothing is ever duplicated).");
  add_db_argument(*app, *db);
  add_exit_codes(*app, "the shards were merged (or there were none)",
                 "",
                 "no database at the path (results.db by default), or a bad option");
  return {app, [db] { return run_collect(*db); }};
}

}  // namespace sweep::cli
