// sweep export RUN [-o FILE] [--format onnx|safetensors]: a trained run's
// kept model out of sweep.
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/stored_model.h"
#include "common/error.h"
#include "export/onnx.h"

namespace sweep::cli {
namespace {

struct ExportOptions {
  std::string db = kDefaultDb;
  std::string run, output, format = "onnx";
};

int run_export(const ExportOptions& options) {
  OpenedModel opened = open_stored_model(options.db, options.run);
  StoredModel& model = opened.model;
  const std::string output = !options.output.empty()
                                 ? options.output
                                 : model.run.sweep + "-run" + std::to_string(model.run.run_id) + "." +
                                       (options.format == "onnx" ? "onnx" : "safetensors");
  const std::string origin = "sweep " SWEEP_VERSION ": run " + std::to_string(model.run.run_id) + " (" +
                             model.run.hash + ") of sweep '" + model.run.sweep + "', epoch " +
                             std::to_string(model.state.epoch) + " of training";
  if (options.format == "onnx") {
    const std::string bytes = onnx_model(model.config.model, model.state.params, origin);
    std::ofstream out(output, std::ios::binary);
    if (!out || !out.write(bytes.data(), std::streamsize(bytes.size())))
      throw InputError("cannot write " + output, {}, "output");
    std::cout << output << ": ONNX opset " << kOnnxOpset << ", input \"input\" float [N, "
              << (model.config.model.input.flat
                      ? std::to_string(model.config.model.input.size())
                      : std::to_string(model.config.model.input.c) + ", " + std::to_string(model.config.model.input.h) +
                            ", " + std::to_string(model.config.model.input.w))
              << "] (pixels / 255" << (model.config.dataset.transform == "hog" ? ", as HOG features" : "")
              << "), output \"probabilities\" float [N, " << model.config.model.classes << "]; " << origin << "\n";
  } else {
    // The weights alone, in the checkpoint's own layout (docs/checkpoints.md).
    TrainingState weights = model.state;
    weights.optimizer.slots.clear();
    write_checkpoint(output, weights);
    std::cout << output << ": safetensors, " << weights.params.size() << " tensors ("
              << human_bytes(double(std::filesystem::file_size(output))) << "); " << origin << "\n";
  }
  return 0;
}

}  // namespace

Command export_command(CLI::App& parent) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* app = parent.add_subcommand("export", "Write a trained run's model as ONNX (or safetensors)");
  app->footer(
      "Write the model a finished run kept (runs.checkpoint: the last epoch, or the best one with\n"
      "`sweep run --checkpoints best`) to a file other tools load:\n"
      "  onnx         ONNX opset 13: input \"input\" float [N, C, H, W] (pixels / 255), output \"probabilities\"\n"
      "               (onnxruntime, PyTorch's onnx2torch, TensorFlow's onnx-tf)\n"
      "  safetensors  the weights in the canonical layout of docs/checkpoints.md, with the run's configuration\n"
      "RUN is a run id or at least 6 characters of its hash (sweep query \"SELECT id, hash FROM results\").");
  app->add_option("run", options->run, "Run id or hash prefix")->required();
  app->add_option("--db", options->db, "Results database")->capture_default_str();
  app->add_option("-o,--output", options->output, "Output file (default: <sweep>-run<id>.onnx in this folder)");
  app->add_option("--format,-f", options->format, "onnx or safetensors")
      ->check(CLI::IsMember({"onnx", "safetensors"}))
      ->capture_default_str();
  add_exit_codes(*app, "the model file was written",
                 "",
                 "no database, no such run, a run that is not done or kept no model (--checkpoints none), an output file that cannot be written, or a bad option");
  return {app, [options] { return run_export(*options); }};
}

}  // namespace sweep::cli
