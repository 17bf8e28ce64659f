// sweep evaluate RUN --dataset NAME: score a trained run's kept model on
// another dataset's test split, recorded in the evaluations table.
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>

#include "cli/commands.h"
#include "cli/stored_model.h"
#include "common/error.h"
#include "data/dataset.h"
#include "train/trainer.h"

namespace sweep::cli {
namespace {

struct EvaluateOptions {
  std::string db = kDefaultDb;
  std::string run, dataset, data_dir;
  int64_t limit = 0;
};

int run_evaluate(const EvaluateOptions& options) {
  OpenedModel opened = open_stored_model(options.db, options.run);
  const StoredModel& model = opened.model;
  DatasetSpec spec = model.config.dataset;
  spec.name = options.dataset;
  spec.dir = options.data_dir;
  const std::string folder = data_dir(spec) + "/" + spec.name;
  Samples test = load_idx_images(folder + "/t10k-images-idx3-ubyte.gz", folder + "/t10k-labels-idx1-ubyte.gz",
                                 options.limit);
  apply_transform(test, spec);
  if (test.shape != model.config.model.input)
    throw InputError("dataset '" + spec.name + "' has samples of shape " + test.shape.keras() + " but run " +
                         std::to_string(model.run.run_id) + "'s model takes " + model.config.model.input.keras(),
                     SourceLocation{folder, 0, 0}, "dataset");
  if (test.classes > model.config.model.classes)
    throw InputError("dataset '" + spec.name + "' has " + std::to_string(test.classes) + " classes, the model " +
                         std::to_string(model.config.model.classes),
                     SourceLocation{folder, 0, 0}, "dataset");

  std::unique_ptr<Session> session = model_session(model);
  const int classes = model.config.model.classes;
  const std::vector<float> probs = predict_all(*session, test, classes);
  const bool sigmoid = model.config.model.layers.back().activation == Activation::sigmoid;
  const Evaluation result = evaluate_probs(probs, test.labels, classes, sigmoid);
  opened.store->record_evaluation(model.run.run_id, spec.name, data_dir(spec), model.run.checkpoint, test.count, result);

  char line[256];
  std::snprintf(line, sizeof line, "accuracy %.4f, loss %.4f, macro F1 %.4f on %lld test images of '%s'",
                result.accuracy, result.loss, result.f1, static_cast<long long>(test.count), spec.name.c_str());
  std::cout << "run " << model.run.run_id << " (sweep '" << model.run.sweep << "', trained on '"
            << model.config.dataset.name << "'): " << line << "\n";
  std::cout << "recorded in " << options.db << " (table evaluations)\n";
  return 0;
}

}  // namespace

Command evaluate_command(CLI::App& parent) {
  auto options = std::make_shared<EvaluateOptions>();
  CLI::App* app = parent.add_subcommand("evaluate", "Score a trained run's model on another dataset's test split");
  app->footer(
      "Score the model a finished run kept on the test split (t10k-images/labels-idx*-ubyte.gz) of another\n"
      "dataset folder, e.g. an MNIST model on a shifted or noisy MNIST, transformed as the run's data was.\n"
      "Prints accuracy, loss and macro F1 and records them in the database's evaluations table\n"
      "(docs/schema.md). RUN is a run id or at least 6 characters of its hash.");
  app->add_option("run", options->run, "Run id or hash prefix")->required();
  app->add_option("--dataset", options->dataset, "Dataset folder name (under --data-dir)")->required();
  app->add_option("--data-dir", options->data_dir,
                  "Folder holding the dataset folder (default: $SWEEP_DATA_DIR, else the bundled data/)");
  app->add_option("--db", options->db, "Results database")->capture_default_str();
  app->add_option("--limit", options->limit, "At most this many test images (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  add_exit_codes(*app, "the scores were printed and recorded in the evaluations table",
                 "",
                 "no database, no such run or kept model, a dataset folder that is missing or does not fit the model, or a bad option");
  return {app, [options] { return run_evaluate(*options); }};
}

}  // namespace sweep::cli
