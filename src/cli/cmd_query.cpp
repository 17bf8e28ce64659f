// sweep query DB "SQL" [--format table|csv|json]
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/format.h"
#include "store/store.h"

namespace sweep::cli {
namespace {

struct QueryOptions {
  std::string db;
  std::string sql;
  std::string format = "table";
};

int run_query(const QueryOptions& options) {
  auto store = Store::open(options.db, Store::Mode::read_only);
  const Store::QueryResult result = store->query(options.sql);
  if (options.format == "csv") std::cout << query_csv(result);
  else if (options.format == "json") std::cout << query_json(result);
  else std::cout << query_table(result);
  return 0;
}

}  // namespace

Command query_command(CLI::App& parent) {
  auto options = std::make_shared<QueryOptions>();
  CLI::App* app = parent.add_subcommand("query", "Run one read-only SQL statement on a results database");
  app->footer(
      "Run one read-only SQL statement (SELECT, WITH, read-only PRAGMA) on a results database and print the rows.\n"
      "The database is opened read-only, so a running sweep is never disturbed; statements that would write\n"
      "(INSERT, UPDATE, DELETE, DROP, CREATE, ATTACH, BEGIN, PRAGMA x = y) and more than one statement are refused.\n"
      "Tables: sweeps, runs, epochs, confusion, models, layers; the `results` view has one row per run with\n"
      "its varied hyperparameters as columns (docs/schema.md).\n"
      "Example: sweep query results.db \"SELECT learning_rate, AVG(test_accuracy) FROM results GROUP BY 1\"");
  app->add_option("db", options->db, "Results database file (as written by `sweep run --db`)")->required();
  app->add_option("sql", options->sql, "One SQL statement; quote it for the shell")->required();
  app->add_option("--format,-f", options->format,
                  "Output: table (aligned text, NULL shown as NULL), csv (RFC 4180: CRLF, quoted where needed, "
                  "NULL empty) or json (array of objects, numbers as numbers, NULL as null)")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  return {app, [options] { return run_query(*options); }};
}

}  // namespace sweep::cli
