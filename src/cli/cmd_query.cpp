// sweep query [DB] "SQL" [--db DB] [--format table|csv|json]
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/format.h"
#include "common/error.h"
#include "store/store.h"

namespace sweep::cli {
namespace {

struct QueryOptions {
  std::vector<std::string> args;  // [DB] SQL
  std::string db = kDefaultDb;
  std::string format = "table";
};

int run_query(const QueryOptions& options) {
  const bool db_given = options.args.size() == 2;
  if (db_given && options.db != kDefaultDb)
    throw InputError("the database is given twice (" + options.args[0] + " and --db " + options.db + "); give one");
  auto store = Store::open(db_given ? options.args[0] : options.db, Store::Mode::read_only);
  const QueryFormat format = options.format == "csv"    ? QueryFormat::csv
                             : options.format == "json" ? QueryFormat::json
                                                        : QueryFormat::table;
  // Rows go out as SQLite steps them: 10^6 rows need no more memory than ten.
  // A reader that went away (`| head`) leaves std::cout bad (SIGPIPE is
  // ignored): stepping stops there instead of reading the rest for nobody.
  const auto writer = query_writer(format, std::cout);
  store->query_each(
      options.args.back(), [&](const std::vector<std::string>& columns) { writer->columns(columns); },
      [&](const std::vector<std::optional<std::string>>& values, const std::vector<int>& types) {
        writer->row(values, types);
        return static_cast<bool>(std::cout);
      });
  writer->finish();
  std::cout.flush();
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
      "Rows are printed as they are read, in bounded memory; a table of more than 1,000 rows takes its column\n"
      "widths from the first 1,000 (use --format csv or json for big results).\n"
      "Example: sweep query results.db \"SELECT learning_rate, AVG(test_accuracy) FROM results GROUP BY 1\"");
  // `sweep query [DB] SQL`: one positional is the statement (on results.db or --db), two are DB and SQL.
  app->add_option("args", options->args, "[DB] SQL: the database (default: results.db) and one SQL statement; "
                                         "quote the statement for the shell")
      ->required()
      ->expected(1, 2);
  app->add_option("--db", options->db, "Results database file, when it is not given before the SQL")
      ->capture_default_str();
  app->add_option("--format,-f", options->format,
                  "Output: table (aligned text, NULL shown as NULL), csv (RFC 4180: CRLF, quoted where needed, "
                  "NULL empty) or json (array of objects, numbers as numbers, NULL as null)")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  add_exit_codes(*app, "the statement ran and its rows were printed",
                 "",
                 "bad input: SQL that is not valid, would write or holds more than one statement, or no database at the path (results.db by default)");
  return {app, [options] { return run_query(*options); }};
}

}  // namespace sweep::cli
