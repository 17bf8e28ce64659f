// The report: every section present with the right numbers, effect tables
// equal to SQL GROUP BY, SVGs well formed with the expected series, failed
// runs listed with their reason, byte-identical regeneration, and the CLI.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "report/format.h"
#include "report/report.h"
#include "test_report_fixture.h"
#include "tests/support/temp_dir.h"

using namespace sweep::report;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The Markdown line that starts with `prefix` (empty when none).
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

// Minimal XML well-formedness: tags balance, attributes are quoted, one root.
bool well_formed_xml(const std::string& xml, std::string& why) {
  std::vector<std::string> stack;
  size_t i = 0;
  int roots = 0;
  while ((i = xml.find('<', i)) != std::string::npos) {
    const size_t end = xml.find('>', i);
    if (end == std::string::npos) return why = "unterminated tag", false;
    std::string tag = xml.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty()) return why = "empty tag", false;
    if (tag[0] == '?' || tag[0] == '!') continue;
    // Quotes must pair up inside a tag.
    if (std::count(tag.begin(), tag.end(), '"') % 2) return why = "unbalanced quotes in <" + tag + ">", false;
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return why = "unexpected </" + name + ">", false;
      stack.pop_back();
      continue;
    }
    const bool self_closing = tag.back() == '/';
    const std::string name = tag.substr(0, tag.find_first_of(" /\n"));
    if (stack.empty()) ++roots;
    if (!self_closing) stack.push_back(name);
  }
  // Text must not hold a raw '&' that is not an entity.
  for (size_t a = xml.find('&'); a != std::string::npos; a = xml.find('&', a + 1))
    if (xml.find(';', a) == std::string::npos || xml.find(';', a) - a > 6) return why = "raw &", false;
  if (!stack.empty()) return why = "unclosed <" + stack.back() + ">", false;
  if (roots != 1) return why = "expected one root element", false;
  return true;
}

int count_of(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t i = text.find(part); i != std::string::npos; i = text.find(part, i + 1)) ++n;
  return n;
}

const ReportFile* figure(const Report& r, const std::string& suffix) {
  for (const auto& f : r.files)
    if (f.path.size() >= suffix.size() && f.path.compare(f.path.size() - suffix.size(), suffix.size(), suffix) == 0)
      return &f;
  return nullptr;
}

// Members go in reverse order: the store closes before its folder is removed.
struct Fixture {
  sweep::test::TempDir temp{"test_report_lib"};
  const fs::path dir = temp.path;
  std::unique_ptr<sweep::Store> store = report_fixture::build(temp.file("results.db"));
  sqlite3* db() { return store->handle(); }
};

}  // namespace

TEST_CASE("formatting is fixed and locale-free") {
  CHECK(fixed(0.98765, 4) == "0.9877");
  CHECK(fixed(-0.00001, 4) == "0.0000");
  CHECK(shortest(0.001) == "0.001");
  CHECK(shortest(64) == "64");
  CHECK(thousands(93322) == "93,322");
  CHECK(thousands(320) == "320");
  CHECK(value_text(json("relu")) == "relu");
  CHECK(duration(75) == "1 min 15 s");
  CHECK(md_cell("a|b") == "a\\|b");
  CHECK(xml_escape("a<b&\"") == "a&lt;b&amp;&quot;");
}

TEST_CASE("every section is present with the right numbers") {
  Fixture f;
  const Report r = build_report(f.db(), "lr_batch", "report_files");
  const std::string& md = r.markdown;
  for (const char* section : {"# lr_batch", "## Setup", "## Configurations", "## Results", "## Effect of each hyperparameter",
                              "## Model summaries", "## Learning curves", "## Confusion matrix of the best run",
                              "## Training progress"})
    CHECK_MESSAGE(has(md, section), section);
  // Setup: description, varied and fixed settings, hardware, when and how long.
  CHECK(has(md, "Epochs cut from 30 to 3."));
  CHECK(has(md, "learning rate (`train.learning_rate`): 0.001, 0.01, 0.1"));
  CHECK(has(md, "batch size (`train.batch_size`): 64, 128"));
  CHECK(has(md, "`train.optimizer` adam"));
  CHECK(has(md, "`train.epochs` 3"));
  CHECK_FALSE(has(md, "`train.learning_rate` 0.001"));  // varied, so not fixed
  CHECK(has(md, "the first 6,000, of which the last 10% are the validation split"));
  CHECK(has(md, "test images: 150"));  // the confusion matrix's total
  CHECK(has(md, "`cpu` backend on Test CPU (2 threads)"));
  CHECK(has(md, "2025-01-02T10:00:00Z to 2025-01-02T10:00:30Z"));
  CHECK(has(md, "9 (7 done, 1 failed, 1 diverged)"));
  CHECK(has(md, "2 seeds per configuration"));
  // Configurations: layer settings and training settings.
  CHECK(has(md, "| Conv2D | 32 | 3x3 | relu |  |  |  | 64 | 3 | 0.001 | adam |"));
  CHECK(has(md, "| MaxPooling2D |  |  |  | 2x2 |"));
  CHECK(has(md, "| Dropout |  |  |  |  |  | 0.5 |"));
  // Results with repeats: mean +- sd per cell, best in bold, sorted by accuracy.
  const std::string best = line_starting(md, "| 1 | 1, 2 |");
  CHECK(has(best, "**0.9890 +- 0.0031**"));
  CHECK(line_starting(md, "| 2 | 5, 6 |") != "");
  CHECK(line_starting(md, "| 4 | 8 |") != "");
  // Failed and diverged runs with their reasons.
  CHECK(has(md, "**diverged**: loss became nan in epoch 2"));
  CHECK(has(md, "**failed**: out of memory"));
  // Model summary (Keras style).
  CHECK(has(md, "| conv2d (Conv2D) | (None, 26, 26, 32) | 320 |"));
  CHECK(has(md, "| dense (Dense) | (None, 3) | 16,005 |"));
  CHECK(has(md, "Total params: 16,325"));
  CHECK(has(md, "Non-trainable params: 0"));
  // Training progress: past 4 runs, a table with first -> last epoch per run.
  CHECK(has(md, "| Run | Epochs | Training accuracy | Validation accuracy | Training loss | Early stopped |"));
  CHECK(has(md, " | 3 | 0.8912 -> 0.9912 | 0.8812 -> 0.9812 | 0.5000 -> 0.1667 | no |"));
  // Confusion matrix and the most confused pair.
  CHECK(has(md, "| **1** | 7 | 40 | 0 |"));
  CHECK(has(md, "0 and 1 are confused most: 9 times (0 as 1: 2, 1 as 0: 7). Next: 1 and 2 (5), 0 and 2 (1)."));
}

TEST_CASE("effect tables are matched groups that equal SQL GROUP BY, with a seed-noise verdict") {
  Fixture f;
  const std::string md = build_report(f.db(), "lr_batch", "x").markdown;
  // Learning rate is compared within each batch size, batch size within each
  // learning rate: the other factor is held fixed, seeds pooled.
  const std::pair<const char*, const char*> effects[] = {{"train.learning_rate", "train.batch_size"},
                                                         {"train.batch_size", "train.learning_rate"}};
  for (const auto& [field, other] : effects) {
    auto q = f.store->query(std::string("SELECT json_extract(varied, '$.\"") + field + "\"'), GROUP_CONCAT(id, ', '), " +
                            "AVG(test_accuracy) FROM (SELECT * FROM runs WHERE sweep_id = 1 AND status = 'done' " +
                            "ORDER BY id) GROUP BY json_extract(varied, '$.\"" + other + "\"'), 1");
    REQUIRE(q.rows.size() >= 4);
    for (const auto& row : q.rows) {
      const std::string value = shortest(std::stod(*row[0]));
      const std::string line = line_starting(md, "| " + value + " | " + *row[1] + " | ");
      INFO(field << " = " << value << ", runs " << *row[1]);
      REQUIRE(line != "");
      CHECK(has(line, " " + fixed(std::stod(*row[2]), 4)));
    }
  }
  CHECK_FALSE(has(md, "| 0.1 | 9 |"));  // only a failed run at lr 0.1: nothing to compare
  CHECK(has(md, "At batch size 64 (runs 1, 2, 3, 4): learning rate 0.001 (0.9890) > 0.01 (0.9678). "
                "Best minus worst, 0.0212, is beyond seed-to-seed noise"));
  CHECK(has(md, "At learning rate 0.001 (runs 1, 2, 5, 6): batch size 64 (0.9890) > 128 (0.9808). "
                "Best minus worst, 0.0082, is within seed-to-seed noise"));
  CHECK(has(md, "2 comparisons with everything else equal. Best learning rate: 0.001 in 2 (2 beyond noise)."));
}

TEST_CASE("figures are well-formed SVG with one polyline and legend entry per series") {
  Fixture f;
  const Report r = build_report(f.db(), "lr_batch", "report_files");
  REQUIRE(r.files.size() >= 5);
  for (const auto& file : r.files) {
    std::string why;
    INFO(file.path);
    CHECK(well_formed_xml(file.content, why));
    CHECK(why == "");
    CHECK(has(file.content, "xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(has(r.markdown, "](" + file.path + ")"));  // linked, relative
  }
  const ReportFile* acc = figure(r, "best_accuracy.svg");
  REQUIRE(acc);
  CHECK(count_of(acc->content, "<polyline class=\"series\"") == 6);  // 3 runs x train/validation
  for (const char* label : {"run 1 train", "run 1 validation", "run 2 train", "run 5 validation"})
    CHECK_MESSAGE(has(acc->content, std::string(">") + label + "</text>"), label);
  CHECK(has(acc->content, ">epoch</text>"));
  CHECK(has(acc->content, ">accuracy</text>"));
  const ReportFile* lr = figure(r, "factor_train_learning_rate_loss.svg");
  REQUIRE(lr);
  CHECK(count_of(lr->content, "<polyline class=\"series\"") == 4);  // lr 0.001 and 0.01 (0.1 never finished)
  CHECK(has(lr->content, ">learning rate 0.01 validation</text>"));
  const ReportFile* cm = figure(r, "confusion.svg");
  REQUIRE(cm);
  CHECK(count_of(cm->content, "<rect x=") == 9);
  CHECK(has(cm->content, ">40</text>"));
}

TEST_CASE("no repeats: one row per run, test-set noise, and the write-up comparison") {
  Fixture f;
  const std::string md = build_report(f.db(), "activation", "x").markdown;
  CHECK(has(md, "| 1 | 10 | relu | **0.9801** |"));
  CHECK(has(md, "| 3 | 11 | sigmoid | 0.9612 |"));
  // 150 test images: SE 0.0114 (relu) and 0.0158 (sigmoid), 2 x SE of the difference 0.0389.
  CHECK(has(md, "Everything else equal (runs 10, 11, 12): activation relu (0.9801) > tanh (0.9750) > sigmoid "
                "(0.9612). Best minus worst, 0.0189, is within test-set noise (2 x standard error = 0.0389): a tie."));
  CHECK(has(md, "binomial standard error sqrt(p(1-p)/n)"));
  CHECK_FALSE(has(md, "seed-to-seed"));
  CHECK(has(md, "## Compared with the write-up"));
  // The write-up's label, then what it matched; notes become footnotes, one paragraph each.
  CHECK(has(md, "| [4-0] (activation relu) | 0.9916 | 0.9801 | -0.0115 | 0.0300 | 0.0199 | 10 |"));
  CHECK(has(md, "| [4-1] (activation sigmoid) [1] | 0.9801 | 0.9612 | -0.0189 | - | 0.0388 | 11 |"));
  CHECK(has(md, "| [4-2] (activation tanh) [2] |"));
  CHECK(has(md, "\n[1] Its section text says 0.9894.\n\n[2] Read off a figure.\n"));
}

TEST_CASE("training progress of a few runs is one sentence each") {
  Fixture f;
  const std::string md = build_report(f.db(), "activation", "x").markdown;
  CHECK(has(md, "goes from 0.8801 to 0.9801 training accuracy over 3 epochs (validation 0.8701 -> 0.9701); "
                "training loss 0.5000 -> 0.1667."));
  CHECK_FALSE(has(md, "| Run | Epochs |"));
}

TEST_CASE("confusion matrices: the best run's by default, every finished run's with Confusion::all") {
  Fixture f;
  const Report best = build_report(f.db(), "activation", "x");
  CHECK(has(best.markdown, "## Confusion matrix of the best run"));
  CHECK(figure(best, "confusion.svg"));
  Settings all;
  all.confusion = Settings::Confusion::all;
  const Report r = build_report(f.db(), "activation", "x", all);
  CHECK_FALSE(has(r.markdown, "## Confusion matrix of the best run"));
  CHECK(has(r.markdown, "## Confusion matrices\n\nOne per finished run, in run order"));
  // One block per finished run (10, 11, 12), in run order, each with its own figure.
  const size_t a = r.markdown.find("Test accuracy 0.9801 (the best run)."), b = r.markdown.find("Test accuracy 0.9612."),
               c = r.markdown.find("Test accuracy 0.9750.");
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  REQUIRE(c != std::string::npos);
  CHECK((a < b && b < c));
  for (const char* name : {"confusion_run10.svg", "confusion_run11.svg", "confusion_run12.svg"}) {
    const ReportFile* svg = figure(r, name);
    REQUIRE_MESSAGE(svg, name);
    std::string why;
    CHECK_MESSAGE(well_formed_xml(svg->content, why), why);
    CHECK(has(r.markdown, std::string("x/") + name));
  }
  CHECK_FALSE(figure(r, "confusion.svg"));
  CHECK(count_of(r.markdown, "0 and 1 are confused most: 9 times") == 3);
}

TEST_CASE("the time per epoch is in every effect table, and said when it differs by 25% or more") {
  Fixture f;
  // Batch 128's epochs take 4.0 s against batch 64's 2.5 s.
  report_fixture::exec(f.db(), "UPDATE epochs SET seconds = 4.0 WHERE run_id IN "
                               "(SELECT id FROM runs WHERE sweep_id = 1 AND config LIKE '%\"batch_size\":128%')");
  const std::string md = build_report(f.db(), "lr_batch", "x").markdown;
  CHECK(has(md, "| batch size | Runs | Test accuracy | Test loss | Time per epoch | Time per run |"));
  CHECK(has(md, "Time per epoch: 64 2.5 s, 128 4.0 s; 64 is 1.6x faster than 128."));
  // Learning rate does not change the time per epoch: no sentence.
  CHECK_FALSE(has(md, "Time per epoch: 0.001"));
}

TEST_CASE("a field is compared over runs that differ in it alone, never across variants' other settings") {
  Fixture f;
  const std::string md = build_report(f.db(), "ofat", "x").markdown;
  // Learning rate at batch 64 (the batch-128 run has no lr partner); batch size at lr 0.001.
  CHECK(has(md, "At batch size 64 (runs 13, 14, 15): learning rate 0.001 (0.9750) > 0.01 (0.9500)."));
  CHECK(has(md, "At learning rate 0.001 (runs 13, 15, 16): batch size 64 (0.9750) > 128 (0.9600)."));
  // A variant is a whole configuration: ranked in Results, not an effect of its own.
  CHECK_FALSE(has(md, "### variant"));
}

TEST_CASE("one factor at a time: the report states the matched comparison where averaging would mislead") {
  // Write-up 000's batch-size study: averaged over everything, batch 64 looks
  // best (a 10-epoch run lifts its mean); at 5 epochs the order is 256 > 64 > 128.
  Fixture f;
  const std::string md = build_report(f.db(), "ofat_epochs", "x").markdown;
  CHECK(has(md, "At learning rate 0.001, epochs 5 (runs 17, 18, 19): batch size 256 (0.9901) > 64 (0.9894) > 128 (0.9890)"));
  CHECK(has(md, "At learning rate 0.001, epochs 10 (runs 21, 22): batch size 64 (0.9920) > 256 (0.9850)"));
  CHECK_FALSE(has(md, "0.9907"));  // the averaged batch-64 mean (0.9894 + 0.9920) / 2 appears nowhere
  CHECK(has(md, "The best value depends on the other settings."));
  // Epochs at batch 64 (runs 17, 21) and at batch 256 (19, 22) are separate comparisons too.
  CHECK(has(md, "At learning rate 0.001, batch size 64 (runs 17, 21): epochs 10 (0.9920) > 5 (0.9894)"));
  CHECK(has(md, "At learning rate 0.001, batch size 256 (runs 19, 22): epochs 5 (0.9901) > 10 (0.9850)"));
  // The run stuck at chance is flagged, in Results and where it is compared.
  CHECK(has(md, " 0.0892 (did not learn) |"));
  CHECK(has(md, "Runs that finished but did not learn"));
  CHECK(has(md, "test accuracy 0.0892, chance is 0.3333"));
  CHECK(has(md, "At epochs 5, batch size 64 (runs 17, 20): learning rate 0.001 (0.9894) > 0.1 (0.0892)"));
  CHECK(has(md, "Run 20 did not learn (test accuracy 0.0892, chance is 0.3333)."));
}

TEST_CASE("the whole database, regenerated, is byte-identical") {
  Fixture f;
  const Report a = build_report(f.db(), "", "report_files");
  const Report b = build_report(f.db(), "", "report_files");
  CHECK(a.markdown == b.markdown);
  REQUIRE(a.files.size() == b.files.size());
  for (size_t i = 0; i < a.files.size(); ++i) {
    CHECK(a.files[i].path == b.files[i].path);
    CHECK(a.files[i].content == b.files[i].content);
  }
  CHECK(has(a.markdown, "# lr_batch"));
  CHECK(has(a.markdown, "# activation"));
  CHECK(figure(a, "lr_batch_confusion.svg"));
  CHECK(figure(a, "activation_confusion.svg"));

  const fs::path out = f.dir / "out" / "study.md";
  fs::create_directories(out.parent_path());
  const auto written = write_report(f.db(), "", out.string());
  CHECK(written.size() == a.files.size() + 1);
  std::ifstream in(out, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == build_report(f.db(), "", "study_files").markdown);
  CHECK(fs::exists(f.dir / "out" / "study_files" / "lr_batch_best_accuracy.svg"));
}

TEST_CASE("an unknown sweep is bad input naming those there are") {
  Fixture f;
  try {
    build_report(f.db(), "nope", "x");
    FAIL("expected InputError");
  } catch (const sweep::InputError& e) {
    CHECK(has(e.what(), "no sweep named 'nope'"));
    CHECK(has(e.what(), "lr_batch, activation"));
  }
}

TEST_CASE("sweep report on the command line") {
  Fixture f;
  const std::string db = (f.dir / "results.db").string();
  f.store.reset();  // close the writer; the CLI opens read-only
  const fs::path out = f.dir / "cli" / "r.md";
  fs::create_directories(out.parent_path());
  const std::string cmd = std::string(SWEEP_BINARY) + " report " + db + " --sweep activation -o " + out.string() + " > /dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  CHECK(fs::exists(out));
  CHECK(fs::exists(f.dir / "cli" / "r_files" / "confusion.svg"));
  const std::string bad = std::string(SWEEP_BINARY) + " report " + db + " --sweep nope -o " + out.string() + " 2> /dev/null";
  const int rc = std::system(bad.c_str());
  CHECK(WEXITSTATUS(rc) == 2);
  // Without a database argument it reads results.db in the working directory, like `sweep run`;
  // --confusion all writes one matrix per finished run.
  const std::string in_dir = "cd " + f.dir.string() + " && " + SWEEP_BINARY +
                             " report --sweep activation --confusion all -o all.md > /dev/null";
  REQUIRE(std::system(in_dir.c_str()) == 0);
  for (const char* name : {"confusion_run10.svg", "confusion_run11.svg", "confusion_run12.svg"})
    CHECK_MESSAGE(fs::exists(f.dir / "all_files" / name), name);
  const std::string wrong = std::string(SWEEP_BINARY) + " report " + db + " --confusion some 2> /dev/null";
  CHECK(WEXITSTATUS(std::system(wrong.c_str())) == 2);
}

namespace {

int lines_of(const std::string& text) { return count_of(text, "\n"); }

// A summary's "*N more <what> are in the database; list them all with* `SQL`"
// line: its N and its SQL (N = -1 when there is no such line).
struct MoreLine {
  long count = -1;
  std::string sql;
};
MoreLine more_line(const std::string& md, const std::string& what) {
  std::istringstream in(md);
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find(" more " + what + " in the database; list them all with* `");
    if (line.rfind("*", 0) != 0 || at == std::string::npos) continue;
    std::string digits;
    for (char c : line.substr(1, at - 1))
      if (c != ',') digits += c;
    const size_t open = line.find('`');
    return {std::stol(digits), line.substr(open + 1, line.rfind('`') - open - 1)};
  }
  return {};
}

long rows_of(sweep::Store& store, const std::string& sql) { return static_cast<long>(store.query(sql).rows.size()); }
long scalar_of(sweep::Store& store, const std::string& sql) { return std::stol(*store.query(sql).rows.at(0).at(0)); }

// The Markdown between "## title" and the next "## " heading.
std::string section(const std::string& md, const std::string& title) {
  const size_t start = md.find("## " + title + "\n");
  if (start == std::string::npos) return "";
  const size_t end = md.find("\n## ", start + 1);
  return md.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

TEST_CASE("a sweep of thousands of runs is summarised in a few hundred lines, and each cut list says where the rest is") {
  Fixture f;
  report_fixture::add_large_sweep(f.db(), 5, "large", 3);
  report_fixture::add_large_sweep(f.db(), 6, "large_once", 1);
  sweep::Store& store = *f.store;
  Settings all;
  all.confusion = Settings::Confusion::all;
  for (const char* name : {"large", "large_once"}) {
    INFO(std::string(name));
    const std::string where = std::string("sweep_id = ") + (std::string(name) == "large" ? "5" : "6");
    const long runs = scalar_of(store, "SELECT COUNT(*) FROM runs WHERE " + where);
    const long done = scalar_of(store, "SELECT COUNT(*) FROM runs WHERE status = 'done' AND " + where);
    const Report best = build_report(f.db(), name, "x");
    const Report every = build_report(f.db(), name, "x", all);
    for (const Report* r : {&best, &every}) {
      CHECK(lines_of(r->markdown) < 2000);
      CHECK(r->files.size() < 40);
    }
    const std::string& md = best.markdown;
    CHECK(lines_of(md) < 700);
    CHECK(has(md, "This sweep has " + thousands(runs) + " runs, more than a report can list (50), so it is summarised"));
    for (const char* s : {"Setup", "Configurations", "Results", "Effect of each hyperparameter", "Model summaries",
                          "Learning curves", "Confusion matrix of the best run", "Training progress"})
      CHECK_MESSAGE(section(md, s) != "", s);
    // Setup still counts every run.
    CHECK(has(md, "- **Runs**: " + std::to_string(runs) + " ("));
    CHECK(has(md, "learning rate (`train.learning_rate`): 0.0001, 0.0002, "));
    CHECK(has(md, ", ... (30 more), 0.0046, "));

    // Configurations: those of the best results.
    CHECK(has(section(md, "Configurations"), "The configurations of the 10 best results, of 1,000 configurations."));
    CHECK(count_of(section(md, "Configurations"), "| **Run") == 10);
    const MoreLine configs = more_line(md, "configurations are");
    CHECK(configs.count == 990);
    CHECK(rows_of(store, configs.sql) == runs);

    // Results: the best and the worst, the rest by SQL that lists exactly them.
    const std::string results = section(md, "Results");
    CHECK(has(results, "\n| ... | ... | ... | ... | ... |"));
    if (std::string(name) == "large_once") {
      const auto ranked = store.query("SELECT id, test_accuracy FROM runs WHERE status = 'done' AND " + where +
                                      " ORDER BY test_accuracy DESC, id");
      REQUIRE(static_cast<long>(ranked.rows.size()) == done);
      CHECK(has(results, "| 1 | " + *ranked.rows[0][0] + " | "));
      CHECK(has(results, "| 20 | " + *ranked.rows[19][0] + " | "));
      CHECK_FALSE(has(results, "| 21 | "));
      CHECK(has(results, "| " + std::to_string(done) + " | " + *ranked.rows.back()[0] + " | "));
      const MoreLine rest = more_line(md, "finished runs, ranks 21 to " + thousands(done - 5) + ", are");
      CHECK(rest.count == done - 25);
      const auto listed = store.query(rest.sql);
      REQUIRE(static_cast<long>(listed.rows.size()) == done - 25);
      CHECK(listed.rows.front()[0] == ranked.rows[20][0]);
      CHECK(listed.rows.back()[0] == ranked.rows[static_cast<size_t>(done - 6)][0]);
    } else {
      // With seeds, one row per configuration (1,000 of them, all with a finished run).
      CHECK(has(results, "Each row is one configuration"));
      const MoreLine rest = more_line(md, "configurations, ranks 21 to 995, are");
      CHECK(rest.count == 975);
      CHECK(rows_of(store, rest.sql) == 1000);
    }
    // Runs without a result and runs that did not learn: counted, the first listed, the SQL lists all.
    const long unfinished = runs - done;
    CHECK(has(results, "Runs without a result: " + thousands(unfinished) + " (by status in Setup); the first 20:"));
    const MoreLine without = more_line(md, "runs without a result are");
    CHECK(without.count == unfinished - 20);
    CHECK(rows_of(store, without.sql) == unfinished);
    const long stuck = scalar_of(store, "SELECT COUNT(*) FROM runs WHERE status = 'done' AND test_accuracy < 0.5 AND " + where);
    REQUIRE(stuck > 20);
    CHECK(has(results, "did not learn (their numbers say nothing about the setting but that it fails): " +
                           thousands(stuck) + "; the first 20:"));
    const MoreLine not_learning = more_line(md, "runs that did not learn are");
    CHECK(not_learning.count == stuck - 20);
    CHECK(rows_of(store, not_learning.sql) == stuck);

    // Effects: a few matched comparisons per factor, the tally over all of them.
    const std::string effects = section(md, "Effect of each hyperparameter");
    CHECK(has(effects, "The 3 comparisons with the best results, of 20; the tally after them counts all."));
    CHECK(has(effects, "The 3 comparisons with the best results, of 250;"));
    CHECK(has(effects, "The 3 comparisons with the best results, of 200;"));
    CHECK(has(effects, "20 comparisons with everything else equal. Best learning rate: "));
    CHECK(has(effects, "250 comparisons with everything else equal. Best batch size: "));
    CHECK(has(effects, "200 comparisons with everything else equal. Best activation: "));
    CHECK(count_of(effects, "| learning rate | Runs |") == 3);
    // 50 learning rates in one comparison: the best 15 and the worst 5 shown
    // (with one seed, a failed or pending run can leave a value out of its comparison).
    CHECK(has(effects, " more values, between the best and the worst shown | | | | |"));
    CHECK(has(effects, " more) ... "));
    if (std::string(name) == "large") {
      CHECK(has(effects, "| ... | 30 more values, between the best and the worst shown | | | | |"));
      CHECK(has(effects, " ... (30 more) ... "));
    }

    // Model summaries: the first 10 of 20, the rest by SQL.
    const std::string models = section(md, "Model summaries");
    CHECK(has(models, "The first 10 of 20 architectures, in run order."));
    CHECK(count_of(models, "### Model ") == 10);
    const MoreLine more_models = more_line(md, "architectures are");
    CHECK(more_models.count == 10);
    CHECK(rows_of(store, more_models.sql) == 20);

    // Training progress: the first runs' rows.
    const long trained = scalar_of(store, "SELECT COUNT(DISTINCT run_id) FROM epochs JOIN runs ON runs.id = run_id WHERE " + where);
    CHECK(has(md, "First to last epoch of the first 20 of the " + thousands(trained) + " runs that trained."));
    CHECK(more_line(md, "runs' epochs are").count == trained - 20);

    // --confusion all: the first 10 finished runs' matrices.
    const std::string matrices = section(every.markdown, "Confusion matrices");
    CHECK(has(matrices, "The first 10 of the " + thousands(done) + " finished runs, in run order"));
    CHECK(count_of(matrices, "### Run ") == 10);
    CHECK(count_of(matrices, "0 and 1 are confused most") == 10);
    const MoreLine more_matrices = more_line(every.markdown, "finished runs' matrices are");
    CHECK(more_matrices.count == done - 10);
    CHECK(rows_of(store, more_matrices.sql) == done * 9);
  }
  // The small sweeps of the same database are reported whole, as before.
  const std::string small = build_report(f.db(), "lr_batch", "x").markdown;
  CHECK_FALSE(has(small, "more than a report can list"));
  CHECK_FALSE(has(small, " more values"));
  CHECK_FALSE(has(small, "in the database; list them all"));
}
