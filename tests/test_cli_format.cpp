// The CLI's output formats: aligned tables, RFC 4180 CSV, JSON with numbers as
// numbers; streamed row by row (sweep query of 10^6 rows in bounded memory)
// with the bytes the whole-result formatting gave.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/format.h"
#include "common/number_text.h"
#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

using namespace sweep;
using namespace sweep::cli;

namespace {

Store::QueryResult sample() {
  Store::QueryResult r;
  r.columns = {"name", "lr", "count", "note"};
  r.rows = {{"plain", "0.001", "12", std::nullopt}, {"with, comma", "1e-05", "-3", "say \"hi\"\nbye"}};
  r.types = {{SQLITE_TEXT, SQLITE_FLOAT, SQLITE_INTEGER, SQLITE_NULL}, {SQLITE_TEXT, SQLITE_FLOAT, SQLITE_INTEGER, SQLITE_TEXT}};
  return r;
}

// What query_json printed before it streamed: the whole result as one
// ordered_json array, dumped once. The streamed writer must give these bytes.
std::string json_as_one_document(const Store::QueryResult& result) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (size_t r = 0; r < result.rows.size(); ++r) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (size_t c = 0; c < result.columns.size(); ++c) {
      const auto& value = result.rows[r][c];
      auto& slot = object[result.columns[c]];
      if (!value) slot = nullptr;
      else if (result.types[r][c] == SQLITE_INTEGER) slot = std::stoll(*value);
      else if (result.types[r][c] == SQLITE_FLOAT) slot = std::strtod(value->c_str(), nullptr);
      else slot = *value;
    }
    rows.push_back(std::move(object));
  }
  return rows.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Feeds a result to a streaming writer, as sweep query does.
std::string streamed(QueryFormat format, const Store::QueryResult& result, size_t layout_rows) {
  std::ostringstream out;
  auto writer = query_writer(format, out, layout_rows);
  writer->columns(result.columns);
  for (size_t r = 0; r < result.rows.size(); ++r) writer->row(result.rows[r], result.types[r]);
  writer->finish();
  return out.str();
}

}  // namespace

// True in an ASan or TSan build (GCC's macros; clang's __has_feature).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized_build = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool sanitized_build = true;
#else
constexpr bool sanitized_build = false;
#endif
#else
constexpr bool sanitized_build = false;
#endif

TEST_CASE("csv follows RFC 4180: CRLF, quotes doubled, quoting only where needed, NULL empty") {
  CHECK(query_csv(sample()) ==
        "name,lr,count,note\r\n"
        "plain,0.001,12,\r\n"
        "\"with, comma\",1e-05,-3,\"say \"\"hi\"\"\nbye\"\r\n");
}

TEST_CASE("json is an array of objects with numbers as numbers and NULL as null") {
  const auto parsed = nlohmann::json::parse(query_json(sample()));
  REQUIRE(parsed.is_array());
  REQUIRE(parsed.size() == 2);
  CHECK(parsed[0]["name"] == "plain");
  CHECK(parsed[0]["lr"].is_number_float());
  CHECK(parsed[0]["lr"].get<double>() == 0.001);
  CHECK(parsed[0]["count"].is_number_integer());
  CHECK(parsed[0]["count"] == 12);
  CHECK(parsed[0]["note"].is_null());
  CHECK(parsed[1]["lr"].get<double>() == 1e-05);
  CHECK(parsed[1]["note"] == "say \"hi\"\nbye");
  CHECK(nlohmann::json::parse(query_json(Store::QueryResult{})) == nlohmann::json::array());
}

TEST_CASE("tables align columns and right-align numeric ones") {
  Store::QueryResult r;
  r.columns = {"activation", "acc"};
  r.rows = {{"relu", "0.98"}, {"tanh", "0.9"}};
  r.types = {{SQLITE_TEXT, SQLITE_FLOAT}, {SQLITE_TEXT, SQLITE_FLOAT}};
  CHECK(query_table(r) ==
        "activation   acc\n"
        "----------  ----\n"
        "relu        0.98\n"
        "tanh         0.9\n"
        "(2 rows)\n");
}

TEST_CASE("streamed json is byte for byte the one-document dump, odd cases included") {
  Store::QueryResult odd;
  odd.columns = {"a", "b", "a", "text", "big", "whole"};  // "a" twice: one key, its last value, its first place
  odd.rows = {{"1", "2.5", "3", "caf\xc3\xa9 \"q\" \\ \t\x01", "1e+300", "64"},
              {std::nullopt, "-0", "-9223372036854775808", "bad \xff byte", "inf", "1"},
              {"7", "1e-05", std::nullopt, "", "-1.5e-300", "0"}};
  odd.types = {{SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_INTEGER, SQLITE_TEXT, SQLITE_FLOAT, SQLITE_FLOAT},
               {SQLITE_NULL, SQLITE_FLOAT, SQLITE_INTEGER, SQLITE_TEXT, SQLITE_FLOAT, SQLITE_INTEGER},
               {SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_NULL, SQLITE_TEXT, SQLITE_FLOAT, SQLITE_INTEGER}};
  for (const Store::QueryResult& r : {sample(), odd, Store::QueryResult{}}) {
    CHECK(query_json(r) == json_as_one_document(r));
    CHECK(streamed(QueryFormat::json, r, 1) == json_as_one_document(r));
  }
  CHECK(query_json(Store::QueryResult{}) == "[]\n");
  const auto parsed = nlohmann::json::parse(query_json(odd));
  CHECK(parsed[0].size() == 5);
  CHECK(parsed[0]["a"] == 3);
  CHECK(parsed[1]["big"].is_null());  // inf is not JSON
  CHECK(parsed[0]["whole"].get<double>() == 64.0);
  // A row without columns (a statement that returns nothing) is an empty object.
  Store::QueryResult no_columns;
  no_columns.rows = {{}};
  no_columns.types = {{}};
  CHECK(query_json(no_columns) == json_as_one_document(no_columns));
}

TEST_CASE("a streamed table lays itself out from its first rows and writes the rest as they come") {
  Store::QueryResult r;
  r.columns = {"name", "n"};
  r.rows = {{"ab", "1"}, {"c", "22"}, {"longer name", "333"}, {std::nullopt, "x"}};
  r.types = {{SQLITE_TEXT, SQLITE_INTEGER}, {SQLITE_TEXT, SQLITE_INTEGER}, {SQLITE_TEXT, SQLITE_INTEGER},
             {SQLITE_NULL, SQLITE_TEXT}};
  // Up to the layout rows, the whole-result table: widths and alignment from every row.
  CHECK(streamed(QueryFormat::table, r, 4) == query_table(r));
  CHECK(streamed(QueryFormat::table, r, 1000) == query_table(r));
  CHECK(query_table(r) ==
        "name         n\n"
        "-----------  ---\n"
        "ab           1\n"
        "c            22\n"
        "longer name  333\n"
        "NULL         x\n"
        "(4 rows)\n");
  // Past them, the first two fix the layout (n numeric, so right-aligned); the
  // later, wider cells are written whole and the text in n stays right-aligned.
  CHECK(streamed(QueryFormat::table, r, 2) ==
        "name   n\n"
        "----  --\n"
        "ab     1\n"
        "c     22\n"
        "longer name  333\n"
        "NULL   x\n"
        "(4 rows)\n");
  // No rows: the header alone, every column left-aligned.
  Store::QueryResult empty;
  empty.columns = {"a", "bb"};
  CHECK(streamed(QueryFormat::table, empty, 1) == "a  bb\n-  --\n(0 rows)\n");
  CHECK(streamed(QueryFormat::csv, sample(), 1) == query_csv(sample()));
}

TEST_CASE("sweep query streams 300,000 rows as csv, json and table in bounded memory") {
  // Holding the rows cost ~450 bytes each (453 MB for 10^6 as JSON); streamed,
  // the process stays at the binary's own ~10 MB whatever the count.
  sweep::test::TempDir dir("test_cli_format");
  Store::open(dir.file("results.db"), Store::Mode::read_write);
  const std::string sql =
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
      "SELECT i, i * 0.5 AS half, 'run ' || i AS name, NULL AS none FROM n";
  // Outputs go to files, read once all three ran: a forked child starts with
  // this process's resident pages, which would count against it.
  for (const char* format : {"csv", "json", "table"}) {
    const std::string command = "cd " + sweep::test::shell_quote(dir.path.string()) + " && " +
                                sweep::test::shell_quote(SWEEP_BINARY) + " query " + sweep::test::shell_quote(sql) +
                                " --format " + format + " > " + format + ".out";
    REQUIRE(std::system(command.c_str()) == 0);
  }
  // The largest child this process has waited for: these queries, sh and sweep.
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  INFO("peak RSS " << usage.ru_maxrss << " KB");
  // Under ASan/TSan the bound means nothing: freed memory sits in the
  // sanitizer's quarantine (256 MB by default) and every byte has shadow bytes,
  // so a streaming query there peaked at ~500 MB. The Release build checks it.
  if (sanitized_build) {
    MESSAGE("sanitizer build: peak RSS " << usage.ru_maxrss << " KB, not checked against the 40 MB bound");
  } else {
    CHECK(usage.ru_maxrss < 40 * 1024);
  }
  auto ends_with = [](const std::string& text, const std::string& end) {
    return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
  };
  const std::string csv = sweep::test::read_file(dir.path / "csv.out");
  CHECK(csv.rfind("i,half,name,none\r\n1,0.5,run 1,\r\n", 0) == 0);
  CHECK(ends_with(csv, "\r\n300000,150000,run 300000,\r\n"));
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 300001);
  const auto parsed = nlohmann::json::parse(sweep::test::read_file(dir.path / "json.out"));
  REQUIRE(parsed.size() == 300000);
  CHECK(parsed[299999]["name"] == "run 300000");
  CHECK(parsed[299999]["half"] == 150000.0);
  CHECK(parsed[299999]["none"].is_null());
  // The table's layout comes from its first 1,000 rows; later, longer cells are written whole.
  const std::string table = sweep::test::read_file(dir.path / "table.out");
  CHECK(table.rfind("   i   half  name      none\n----  -----  --------  ----\n   1    0.5  run 1     NULL\n", 0) == 0);
  CHECK(ends_with(table, "\n300000  150000  run 300000  NULL\n(300000 rows)\n"));
}

TEST_CASE("durations and counts read like a person wrote them") {
  CHECK(human_seconds(0.25) == "250 ms");
  CHECK(human_seconds(42) == "42 s");
  CHECK(human_seconds(200) == "3 min 20 s");
  CHECK(human_seconds(7500) == "2 h 05 min");
  CHECK(thousands(93322) == "93,322");
  CHECK(thousands(1234567) == "1,234,567");
  CHECK(thousands(999) == "999");
}

TEST_CASE("varied columns are titled by their last component unless ambiguous") {
  const auto titles = varied_titles({"train.learning_rate", "model.layers.0.activation", "model.layers.2.activation",
                                     "model.builder.filters.1"});
  CHECK(titles == std::vector<std::string>{"learning_rate", "model.layers.0.activation", "model.layers.2.activation",
                                           "model.builder.filters.1"});
  CHECK(value_text(json("relu")) == "relu");
  CHECK(value_text(json(0.001)) == "0.001");
  CHECK(value_text(json::array({32, 64})) == "[32,64]");
}

TEST_CASE("numbers print as a lab report writes them: plain from 1e-4 up, round-tripping") {
  using sweep::shortest_number;
  CHECK(shortest_number(0.0003) == "0.0003");
  CHECK(shortest_number(0.0001) == "0.0001");
  CHECK(shortest_number(0.001) == "0.001");
  CHECK(shortest_number(0.9864) == "0.9864");
  CHECK(shortest_number(64) == "64");
  CHECK(shortest_number(0) == "0");
  CHECK(shortest_number(-0.25) == "-0.25");
  CHECK(shortest_number(1e-7) == "1e-07");
  CHECK(shortest_number(5e-5) == "5e-05");
  CHECK(shortest_number(1e20) == "1e+20");
  for (double v : {0.1 + 0.2, 1.0 / 3.0, 123456.789, 2.5e-4})
    CHECK(std::stod(shortest_number(v)) == v);
}
