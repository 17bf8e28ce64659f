// The live view's lines, without a terminal: run labels (no repeated variant
// name, no null values, the repeat and seed), the layout at several widths
// (the bar shrinks first, then the label; the metrics are never cut), the
// status colours, and ProgressBoard's finished lines with and without colour.
#include <doctest/doctest.h>

#include <cstdio>
#include <regex>
#include <string>

#include "schedule/line_layout.h"
#include "schedule/progress.h"
#include "schedule/run_label.h"

using namespace sweep;

namespace {

std::string strip_ansi(const std::string& text) {
  return std::regex_replace(text, std::regex("\x1b\\[[0-9;]*[A-Za-z]"), "");
}

// A grid as expand makes it: two variants, one of which sets a key the other
// has not (null there), a varied learning rate, two repeats.
ExpandedGrid variant_grid() {
  ExpandedGrid grid;
  grid.name = "labels";
  grid.varied = {"variant", "train.learning_rate", "model.builder.dense_activation"};
  for (int repeat = 0; repeat < 2; ++repeat) {
    for (const char* variant : {"small", "wide"}) {
      ExpandedRun run;
      run.variant = variant;
      run.repeat = repeat;
      run.config.train.seed = static_cast<uint64_t>(7 + repeat);
      run.varied = json::object();
      run.varied["variant"] = variant;
      run.varied["train.learning_rate"] = 0.001;
      run.varied["model.builder.dense_activation"] = std::string(variant) == "wide" ? json("relu") : json();
      grid.runs.push_back(run);
    }
  }
  return grid;
}

const std::regex kMetrics("epoch 3/12 (\\[[#.]+\\] )?(17/469 )?loss 0\\.1235 acc 0\\.9612$");

}  // namespace

TEST_CASE("a run's label names its variant once, leaves out null values, shows repeat and seed") {
  const auto labels = run_labels(variant_grid());
  REQUIRE(labels.size() == 4);
  CHECK(labels[0].text() == "#1 [small] learning_rate=0.001 rep=1/2 seed=7");
  CHECK(labels[1].text() == "#2 [wide] learning_rate=0.001 dense_activation=relu rep=1/2 seed=7");
  CHECK(labels[3].text() == "#4 [wide] learning_rate=0.001 dense_activation=relu rep=2/2 seed=8");
  for (const RunLabel& label : labels) {
    CHECK(label.text().find("variant=") == std::string::npos);
    CHECK(label.text().find("null") == std::string::npos);
  }
  // A grid without repeats shows neither.
  ExpandedGrid once = variant_grid();
  once.runs.resize(2);
  CHECK(run_labels(once)[0].text() == "#1 [small] learning_rate=0.001");
}

TEST_CASE("a label shortens by abbreviating its keys, then by dropping values from its end") {
  const RunLabel label = run_labels(variant_grid())[1];
  const std::string whole = label.text();
  CHECK(label.fit(200) == whole);
  CHECK(label.fit(static_cast<int>(whole.size()) - 1) == "#2 [wide] lr=0.001 da=relu rep=1/2 seed=7");
  // Then whole values go from the end: never a value cut short.
  CHECK(label.fit(21) == "#2 [wide] lr=0.001 ..");
  CHECK(label.fit(20) == "#2 [wide] ..");
  CHECK(label.fit(5) == "#2 ..");
  CHECK(label.fit(4) == "#2");  // never less than the index
  CHECK(abbreviate_key("learning_rate") == "lr");
  CHECK(abbreviate_key("batch_size") == "bs");
  CHECK(abbreviate_key("weight_decay") == "wd");
  CHECK(abbreviate_key("model.layers.0.units") == "model.layers.0.u");
  CHECK(abbreviate_key("seed") == "seed");
}

TEST_CASE("progress lines fit every width and never cut the metrics") {
  const RunLabel label = run_labels(variant_grid())[1];
  const RunProgress progress{3, 12, 17, 469, 0.12346, 0.96123};
  for (int width : {160, 125, 100, 80, 72, 60, 50, 40}) {
    CAPTURE(width);
    const std::string line = progress_line(label, progress, width);
    CAPTURE(line);
    CHECK(static_cast<int>(line.size()) <= width);
    CHECK(std::regex_search(line, kMetrics));
    CHECK(line.rfind("  #2", 0) == 0);
  }
  // Wide: everything whole, the full 20-column bar.
  CHECK(progress_line(label, progress, 160).find(label.text() + " epoch 3/12 [") != std::string::npos);
  // (the bar's "[" is the line's last: the label's variant has one too)
  const std::string wide = progress_line(label, progress, 160);
  CHECK(wide.find("] 17/469") - wide.rfind("[") == 21);
  // Narrower: the bar shrinks before the label does.
  const std::string shrunk = progress_line(label, progress, 125);
  CHECK(shrunk.find(label.text()) != std::string::npos);
  CHECK(shrunk.find("] 17/469") - shrunk.rfind("[") == 14);
  // Narrower still: the label gives way, the bar keeps 8 columns.
  const std::string abbreviated = progress_line(label, progress, 80);
  CHECK(abbreviated.find(" lr=0.001") != std::string::npos);
  CHECK(abbreviated.find("] 17/469") - abbreviated.rfind("[") == 9);
  // Narrowest: only the index and the metrics.
  CHECK(progress_line(label, progress, 40) == "  #2 epoch 3/12 loss 0.1235 acc 0.9612");
}

TEST_CASE("finished lines: the status coloured, the label shortened before the result") {
  const RunLabel label = run_labels(variant_grid())[0];
  RunResult done;
  done.status = RunStatus::done;
  done.wall_seconds = 12.34;
  done.test.accuracy = 0.98123;
  done.test.loss = 0.06123;
  const std::string text = finished_text(done);
  CHECK(text == "done in 12.3s: test_accuracy 0.9812 test_loss 0.0612");
  const std::string coloured = result_line(label, text, RunStatus::done, 200, true);
  CHECK(coloured == label.text() + " \x1b[32mdone\x1b[0m in 12.3s: test_accuracy 0.9812 test_loss 0.0612");
  CHECK(result_line(label, text, RunStatus::done, 200, false) == label.text() + " " + text);
  for (int width : {80, 60, 56}) {
    const std::string line = result_line(label, text, RunStatus::done, width, true);
    CAPTURE(line);
    CHECK(visible_width(line) <= width);
    CHECK(strip_ansi(line).find(text) != std::string::npos);
  }
  CHECK(std::string(status_colour(RunStatus::failed)) == "\x1b[31m");
  CHECK(std::string(status_colour(RunStatus::diverged)) == "\x1b[33m");
  CHECK(std::string(status_colour(RunStatus::interrupted)) == "\x1b[35m");
  // A long error gives way at the end, after the label is down to its index.
  RunResult failed;
  failed.status = RunStatus::failed;
  failed.error = std::string(200, 'x');
  const std::string line = result_line(label, finished_text(failed), RunStatus::failed, 60, true);
  CHECK(visible_width(line) == 60);
  CHECK(strip_ansi(line).rfind("#1 failed: xxx", 0) == 0);
  CHECK(line.find("\x1b[31mfailed\x1b[0m") != std::string::npos);
  CHECK(strip_ansi(line).ends_with("x.."));
}

TEST_CASE("fit_visible counts columns, not escape sequences, and closes a colour it cuts") {
  const std::string text = "ab\x1b[32mcdef\x1b[0mgh";
  CHECK(visible_width(text) == 8);
  CHECK(fit_visible(text, 8) == text);
  CHECK(fit_visible(text, 4) == "ab\x1b[32mcd\x1b[0m");
  CHECK(fit_visible(text, 7) == "ab\x1b[32mcdef\x1b[0mg");
}

TEST_CASE("ProgressBoard: live lines coloured unless asked not to; plain lines whole and uncoloured") {
  RunResult done;
  done.status = RunStatus::done;
  done.wall_seconds = 1;
  done.test.accuracy = 0.5;
  const RunLabel label = run_labels(variant_grid())[0];
  auto frames = [&](ProgressBoard::Mode mode, bool colour) {
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    {
      ProgressBoard board(mode, 1, 1, 0, out, colour);
      board.start();
      board.run_started(0, label, 1);
      board.run_finished(0, done);
      board.stop();
    }
    std::rewind(out);
    std::string text;
    for (int c; (c = std::fgetc(out)) != EOF;) text += static_cast<char>(c);
    std::fclose(out);
    return text;
  };
  const std::string live = frames(ProgressBoard::Mode::live, true);
  CHECK(live.find("\x1b[32mdone\x1b[0m") != std::string::npos);
  const std::string no_colour = frames(ProgressBoard::Mode::live, false);
  CHECK(no_colour.find("\x1b[2K") != std::string::npos);  // still live: lines redrawn in place
  CHECK(no_colour.find("\x1b[3") == std::string::npos);   // but no colour
  CHECK(no_colour.find(label.text() + " done in ") != std::string::npos);
  const std::string plain = frames(ProgressBoard::Mode::plain, true);
  CHECK(plain.find('\x1b') == std::string::npos);
  CHECK(plain.find(label.text() + " done in 1.0s: test_accuracy 0.5000") != std::string::npos);
}
