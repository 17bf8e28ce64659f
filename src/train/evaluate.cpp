// Metrics of a set of predictions (Keras loss, sklearn-style macro scores),
// the epoch shuffle, and run status names.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "common/error.h"
#include "kernels/common/rng.h"
#include "train/trainer.h"

namespace sweep {

const char* to_string(RunStatus status) {
  switch (status) {
    case RunStatus::pending: return "pending";
    case RunStatus::running: return "running";
    case RunStatus::done: return "done";
    case RunStatus::failed: return "failed";
    case RunStatus::diverged: return "diverged";
    case RunStatus::interrupted: return "interrupted";
    case RunStatus::pruned: return "pruned";
  }
  return "unknown";
}

RunStatus run_status_from(const std::string& name) {
  for (RunStatus s : {RunStatus::pending, RunStatus::running, RunStatus::done, RunStatus::failed,
                      RunStatus::diverged, RunStatus::interrupted, RunStatus::pruned})
    if (name == to_string(s)) return s;
  throw InputError("unknown run status '" + name +
                   "' (expected pending, running, done, failed, diverged or interrupted)");
}

// Loss as Keras' categorical cross-entropy computes it on probabilities:
//  * softmax outputs: -log(max(p_y, 1e-7)) (a softmax already sums to 1);
//  * sigmoid outputs: Keras first normalises q = p / sum(p), then clips q to
//    [1e-7, 1 - 1e-7], loss -log(q_y).
// Precision, recall and F1 are macro averages as sklearn computes them with
// average='macro', zero_division=0: over the classes that occur among the
// labels or the predictions; a class never predicted has precision 0, a class
// never present has recall 0; F1 per class is 2tp / (2tp + fp + fn).
Evaluation evaluate_probs(const std::vector<float>& probs, const std::vector<uint8_t>& labels, int classes,
                          bool sigmoid_output) {
  if (classes < 1 || probs.size() != labels.size() * size_t(classes))
    throw RuntimeError("evaluate_probs: " + std::to_string(probs.size()) + " probabilities for " +
                       std::to_string(labels.size()) + " labels x " + std::to_string(classes) + " classes");
  Evaluation ev;
  ev.classes = classes;
  const size_t k = size_t(classes);
  ev.confusion.assign(k * k, 0);
  const size_t n = labels.size();
  if (n == 0) {
    ev.loss = ev.accuracy = std::numeric_limits<double>::quiet_NaN();
    return ev;
  }
  constexpr double kEps = 1e-7;
  double loss_sum = 0;
  int64_t correct = 0;
  for (size_t i = 0; i < n; ++i) {
    const float* p = probs.data() + i * k;
    const size_t y = labels[i];
    if (y >= k)
      throw RuntimeError("evaluate_probs: label " + std::to_string(y) + " of sample " + std::to_string(i) +
                         " is not below the " + std::to_string(classes) + " classes");
    const size_t predicted = size_t(std::max_element(p, p + k) - p);  // first maximum, as numpy's argmax
    correct += predicted == y;
    ++ev.confusion[y * k + predicted];
    if (sigmoid_output) {
      double sum = 0;
      for (size_t c = 0; c < k; ++c) sum += p[c];
      const double q = std::clamp(double(p[y]) / sum, kEps, 1.0 - kEps);
      loss_sum += -std::log(q);
    } else {
      loss_sum += -std::log(std::max(double(p[y]), kEps));
    }
  }
  ev.loss = loss_sum / double(n);
  ev.accuracy = double(correct) / double(n);

  double precision_sum = 0, recall_sum = 0, f1_sum = 0;
  int present = 0;
  for (size_t c = 0; c < k; ++c) {
    int64_t actual = 0, predicted = 0;
    for (size_t j = 0; j < k; ++j) {
      actual += ev.confusion[c * k + j];
      predicted += ev.confusion[j * k + c];
    }
    if (actual == 0 && predicted == 0) continue;
    ++present;
    const double tp = double(ev.confusion[c * k + c]);
    precision_sum += predicted > 0 ? tp / double(predicted) : 0.0;
    recall_sum += actual > 0 ? tp / double(actual) : 0.0;
    // 2tp + fp + fn = actual + predicted.
    f1_sum += 2.0 * tp / double(actual + predicted);
  }
  ev.precision = precision_sum / present;
  ev.recall = recall_sum / present;
  ev.f1 = f1_sum / present;
  return ev;
}

// Fisher-Yates from the last position down, each swap partner drawn from the
// counter-based stream kShuffle (counter = epoch << 32 | position), so the
// order depends only on (n, seed, epoch): the same on every backend and thread.
std::vector<int32_t> epoch_permutation(int64_t n, uint64_t seed, int epoch) {
  if (n < 0 || n > int64_t(std::numeric_limits<int32_t>::max()))
    throw RuntimeError("epoch_permutation: " + std::to_string(n) + " samples do not fit 32-bit indices");
  std::vector<int32_t> order(static_cast<size_t>(n));
  for (int32_t i = 0; i < int32_t(n); ++i) order[size_t(i)] = i;
  const uint64_t key = rng::derive_key(seed, rng::kShuffle);
  const uint64_t epoch_bits = uint64_t(uint32_t(epoch)) << 32;
  for (int64_t i = n - 1; i > 0; --i) {
    // A 32-bit draw scaled onto [0, i]: bias below n / 2^32, negligible here.
    const uint64_t draw = rng::bits(key, epoch_bits | uint64_t(i)) >> 32;
    const auto j = static_cast<size_t>((draw * uint64_t(i + 1)) >> 32);
    std::swap(order[size_t(i)], order[j]);
  }
  return order;
}

}  // namespace sweep
