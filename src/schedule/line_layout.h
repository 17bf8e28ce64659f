// The live view's lines laid out to the terminal's width, and their colours.
// A line that wraps would throw off the cursor movement of the next redraw,
// so every line fits; what gives way, in order: the bar (down to 8 columns),
// the label (abbreviated keys, then values dropped from its end), then the
// bar and the batch count altogether. The epoch, loss and accuracy are never cut (only a
// terminal too narrow for them alone cuts the line's end).
#pragma once
#include <string>

#include "schedule/run_label.h"
#include "train/trainer.h"

namespace sweep {

struct RunProgress {
  int epoch = 0, epochs = 0;    // epoch is 1-based; epochs 0 = not started
  int batch = 0, batches = 0;
  double loss = 0, accuracy = 0;  // running values of the epoch so far
};

// "  #3 lr=0.01 epoch 2/5 [####....] 120/469 loss 0.1234 acc 0.9612", at most `width` columns.
std::string progress_line(const RunLabel& label, const RunProgress& progress, int width);

// What a finished run's line says after its label: "done in 12.3s: test_accuracy 0.9812 ...",
// "diverged: loss is NaN at epoch 2", ... Its first word is the status.
std::string finished_text(const RunResult& result);

// "<label> <text>" in at most `width` columns (width <= 0: no limit): the
// label shortens first, then the text's tail (an error message) is cut.
// With `colour`, the text's first word (the status) is coloured.
std::string result_line(const RunLabel& label, const std::string& text, RunStatus status, int width, bool colour);
// The same for a run another process took: "<label> skipped: ...".
std::string skipped_line(const RunLabel& label, const std::string& text, int width, bool colour);

// The ANSI colour of a status: done green, failed red, diverged yellow,
// interrupted magenta ("" for the others).
const char* status_colour(RunStatus status);

// Columns `text` takes on a terminal: ANSI escape sequences take none (all
// other text here is ASCII).
int visible_width(const std::string& text);
// Cut to `width` visible columns, keeping escape sequences whole and ending
// any colour a cut leaves open.
std::string fit_visible(const std::string& text, int width);

}  // namespace sweep
