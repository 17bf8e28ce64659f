// sweep predict RUN IMAGES...: classes and probabilities from a trained run's
// kept model, for the images of IDX files and PNG files.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>

#include "cli/commands.h"
#include "cli/stored_model.h"
#include "common/error.h"
#include "data/dataset.h"

namespace sweep::cli {
namespace {

struct PredictOptions {
  std::string db = kDefaultDb;
  std::string run;
  std::vector<std::string> images;
  int64_t limit = 0;
  bool all = false;
};

// The run's own input: the same shape, and its transform (HOG) applied.
Samples model_input(const StoredModel& model, const std::string& path, int64_t limit) {
  Samples s = path.ends_with(".png") || path.ends_with(".PNG") ? load_png_image(path) : load_idx_images(path, "", limit);
  apply_transform(s, model.config.dataset);
  if (s.shape != model.config.model.input)
    throw InputError("holds samples of shape " + s.shape.keras() + " but run " + std::to_string(model.run.run_id) +
                         "'s model takes " + model.config.model.input.keras(),
                     SourceLocation{path, 0, 0}, "images");
  return s;
}

int run_predict(const PredictOptions& options) {
  OpenedModel opened = open_stored_model(options.db, options.run);
  const StoredModel& model = opened.model;
  std::unique_ptr<Session> session = model_session(model);
  const int classes = model.config.model.classes;
  std::cout << "file,image,class,probability";
  if (options.all)
    for (int c = 0; c < classes; ++c) std::cout << ",p" << c;
  std::cout << "\n";
  for (const std::string& path : options.images) {
    const Samples samples = model_input(model, path, options.limit);
    const std::vector<float> probs = predict_all(*session, samples, classes);
    char number[32];
    for (int64_t i = 0; i < samples.count; ++i) {
      const float* p = probs.data() + i * classes;
      const int best = int(std::max_element(p, p + classes) - p);
      std::snprintf(number, sizeof number, "%.6f", double(p[best]));
      std::cout << path << "," << i << "," << best << "," << number;
      if (options.all)
        for (int c = 0; c < classes; ++c) {
          std::snprintf(number, sizeof number, "%.9g", double(p[c]));  // float round trip
          std::cout << "," << number;
        }
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace

Command predict_command(CLI::App& parent) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* app = parent.add_subcommand("predict", "Classify images with a trained run's model");
  app->footer(
      "Classify the images of IDX image files (gzip, as the datasets are: e.g. t10k-images-idx3-ubyte.gz)\n"
      "or PNG files (8-bit; colour is turned into gray; light digits on a dark background, as MNIST)\n"
      "with the model a finished run kept, and print CSV: file, image index, class, its probability (and\n"
      "every class's with --all). Images are transformed as the run's dataset was (HOG features for a\n"
      "HOG run) and must have the size the model takes.\n"
      "RUN is a run id or at least 6 characters of its hash.");
  app->add_option("run", options->run, "Run id or hash prefix")->required();
  app->add_option("images", options->images, "IDX image files (.gz) or PNG images")->required()->check(CLI::ExistingFile);
  app->add_option("--db", options->db, "Results database")->capture_default_str();
  app->add_option("--limit", options->limit, "At most this many images of each file (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_flag("--all", options->all, "Print every class's probability, not only the predicted one's");
  add_exit_codes(*app, "the predictions were printed",
                 "",
                 "no database, no such run or kept model, an image file that cannot be read or does not fit the model, or a bad option");
  return {app, [options] { return run_predict(*options); }};
}

}  // namespace sweep::cli
