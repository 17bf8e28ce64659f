// Merging the array tasks' shards (<db>.d/shards/*.db) into the results
// database: `sweep collect DB`, and the end of `sweep run --executor slurm --wait`.
#pragma once
#include <string>
#include <vector>

#include "store/store.h"

namespace sweep::slurm {

struct CollectSummary {
  int shards = 0;        // shard files read
  int done_copied = 0;   // runs that became done in the database
  int updated = 0;       // runs whose not-done state (running, interrupted, failed...) was updated
  int unchanged = 0;     // shard runs that changed nothing (already done, or an older attempt)
  std::vector<std::string> notes;  // shards skipped and why
};

// Merge every shard into the database at db_path, idempotently, by sweep name
// and run hash:
//  - a run done in the database is never touched;
//  - a run done in a shard replaces the database row (metrics, epochs,
//    confusion matrix: the old epochs/cells are deleted first, so nothing is
//    ever duplicated);
//  - a run not done in a shard (running, interrupted, failed, diverged)
//    replaces a not-done row when its attempt started no earlier, so the
//    database shows the latest attempt's state.
// Shards are opened read-only and each is read inside one read transaction
// (a consistent snapshot even while its task is still writing it: WAL), so
// collect can run at any time and as often as wanted. A shard that is not yet
// a sweep database (its task just started) is skipped with a note.
CollectSummary collect_shards(const std::string& db_path);
// The same into an open database (its shards are beside main.path()).
CollectSummary collect_shards(Store& main);

}  // namespace sweep::slurm
