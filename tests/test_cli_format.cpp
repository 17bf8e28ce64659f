// The CLI's output formats: aligned tables, RFC 4180 CSV, JSON with numbers as numbers.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "cli/format.h"
#include "common/number_text.h"

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

}  // namespace

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
