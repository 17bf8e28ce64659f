// Schema creation, versioning (PRAGMA user_version) and the `results` view.
// Private to src/store/.
#pragma once
#include <string>
#include <vector>

#include <sqlite3.h>

namespace sweep::store_detail {

// Bring a read-write database to kSchemaVersion (creating it when empty); a
// read-only one is only checked. InputError (naming `path` and both versions)
// for a newer schema, or for a database that is not a sweep database.
// Returns the version the database has now (older than kSchemaVersion only
// when read-only).
int migrate(sqlite3* db, const std::string& path, bool read_only);

// One column of the `results` view for each distinct varied path, in order.
struct ResultsColumn {
  std::string name;  // the column's name in the view
  std::string path;  // the dotted config path it shows
};
// Name the varied paths' columns: the last component, or the whole path with
// '_' for '.' where two paths end alike, the end is a list index, or the name
// is taken by one of the view's fixed columns. Paths the fixed columns
// already show (train.learning_rate, ...) get no column of their own.
std::vector<ResultsColumn> results_varied_columns(const std::vector<std::string>& varied_paths);

// Drop and re-create `results` from every sweep's varied paths. Call inside
// the transaction that changed the sweeps.
void rebuild_results_view(sqlite3* db);

}  // namespace sweep::store_detail
