#include "schedule/step_fit.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "model/model.h"

namespace sweep {
namespace {

std::vector<double> train_features(const NetworkWork& w) {
  return {1.0, w.flops_training * w.batch, w.activations * w.batch};
}
std::vector<double> predict_features(const NetworkWork& w) { return {1.0, w.flops_forward, w.activations}; }

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

// Solves the k x k system a z = b by Gaussian elimination with partial
// pivoting; empty when it is singular.
std::optional<std::vector<double>> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t k = b.size();
  for (size_t col = 0; col < k; ++col) {
    size_t pivot = col;
    for (size_t row = col + 1; row < k; ++row)
      if (std::abs(a[row][col]) > std::abs(a[pivot][col])) pivot = row;
    if (std::abs(a[pivot][col]) < 1e-12) return std::nullopt;
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    for (size_t row = col + 1; row < k; ++row) {
      const double factor = a[row][col] / a[col][col];
      for (size_t j = col; j < k; ++j) a[row][j] -= factor * a[col][j];
      b[row] -= factor * b[col];
    }
  }
  std::vector<double> z(k);
  for (size_t col = k; col-- > 0;) {
    double sum = b[col];
    for (size_t j = col + 1; j < k; ++j) sum -= a[col][j] * z[j];
    z[col] = sum / a[col][col];
  }
  return z;
}

}  // namespace

NetworkWork network_work(const RunConfig& config) {
  const ModelInfo info = infer(config.model);
  NetworkWork work;
  work.flops_training = double(info.flops_training);
  work.flops_forward = double(info.flops_forward);
  work.activations = double(config.model.input.size());
  for (const LayerInfo& layer : info.layers) work.activations += double(layer.output.size());
  work.batch = std::max(1, config.train.batch_size);
  return work;
}

std::string network_family(const ModelSpec& model) {
  std::string family;
  for (const LayerSpec& layer : model.layers) {
    if (!family.empty()) family += ' ';
    family += to_string(layer.kind);
    if (layer.kind == LayerKind::conv2d || layer.kind == LayerKind::dense || layer.kind == LayerKind::activation)
      family += std::string(":") + to_string(layer.activation);
  }
  return family;
}

std::optional<std::vector<double>> fit_nonnegative(const std::vector<std::vector<double>>& x,
                                                   const std::vector<double>& y) {
  if (x.empty() || x.size() != y.size()) return std::nullopt;
  const size_t columns = x[0].size();
  // Rows divided by their target: least squares on relative error. Columns
  // scaled to a largest value of 1: FLOPs (1e8) beside a constant (1) would
  // make the normal equations singular in floating point.
  std::vector<std::vector<double>> rows(x.size(), std::vector<double>(columns));
  std::vector<double> scale(columns, 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(y[i] > 0) || x[i].size() != columns) return std::nullopt;
    for (size_t j = 0; j < columns; ++j) scale[j] = std::max(scale[j], std::abs(x[i][j] / y[i]));
  }
  for (size_t i = 0; i < x.size(); ++i)
    for (size_t j = 0; j < columns; ++j) rows[i][j] = scale[j] > 0 ? x[i][j] / y[i] / scale[j] : 0.0;

  std::optional<std::vector<double>> best;
  double best_error = INFINITY;
  for (unsigned subset = 1; subset < (1u << columns); ++subset) {
    std::vector<size_t> used;
    for (size_t j = 0; j < columns; ++j)
      if (subset & (1u << j) && scale[j] > 0) used.push_back(j);
    if (used.empty() || used.size() > x.size()) continue;
    // Normal equations of the used columns; every row's target is 1.
    std::vector<std::vector<double>> a(used.size(), std::vector<double>(used.size(), 0.0));
    std::vector<double> b(used.size(), 0.0);
    for (const auto& row : rows)
      for (size_t p = 0; p < used.size(); ++p) {
        b[p] += row[used[p]];
        for (size_t q = 0; q < used.size(); ++q) a[p][q] += row[used[p]] * row[used[q]];
      }
    const auto z = solve(a, b);
    if (!z || std::any_of(z->begin(), z->end(), [](double v) { return !(v >= 0) || !std::isfinite(v); })) continue;
    std::vector<double> coefficients(columns, 0.0);
    for (size_t p = 0; p < used.size(); ++p) coefficients[used[p]] = (*z)[p];
    double error = 0;
    for (const auto& row : rows) error += (dot(row, coefficients) - 1) * (dot(row, coefficients) - 1);
    if (error < best_error) {
      best_error = error;
      best = coefficients;
    }
  }
  if (!best) return std::nullopt;
  for (size_t j = 0; j < columns; ++j) (*best)[j] = scale[j] > 0 ? (*best)[j] / scale[j] : 0.0;
  return best;
}

std::optional<StepFit> StepFit::fit(const std::vector<std::pair<NetworkWork, StepCost>>& timed) {
  constexpr size_t kMinimum = 3;
  if (timed.size() < kMinimum) return std::nullopt;
  std::vector<std::vector<double>> train_x, predict_x;
  std::vector<double> train_y, predict_y, setups;
  for (const auto& [work, cost] : timed) {
    train_x.push_back(train_features(work));
    train_y.push_back(cost.train_step);
    predict_x.push_back(predict_features(work));
    predict_y.push_back(cost.predict_image);
    setups.push_back(cost.setup);
  }
  auto train = fit_nonnegative(train_x, train_y);
  auto predict = fit_nonnegative(predict_x, predict_y);
  if (!train || !predict) return std::nullopt;
  StepFit fitted;
  fitted.train_ = std::move(*train);
  fitted.predict_ = std::move(*predict);
  std::sort(setups.begin(), setups.end());
  fitted.setup_ = setups[setups.size() / 2];
  return fitted;
}

StepCost StepFit::predict(const NetworkWork& work) const {
  StepCost cost;
  cost.setup = setup_;
  cost.train_step = dot(train_features(work), train_);
  cost.predict_image = dot(predict_features(work), predict_);
  return cost;
}

StepCost StepFit::predict_like(const NetworkWork& work, const NetworkWork& sibling, const StepCost& sibling_cost) const {
  StepCost cost = predict(work);
  const StepCost expected = predict(sibling);
  if (expected.train_step > 0) cost.train_step *= sibling_cost.train_step / expected.train_step;
  if (expected.predict_image > 0) cost.predict_image *= sibling_cost.predict_image / expected.predict_image;
  cost.setup = sibling_cost.setup;
  return cost;
}

}  // namespace sweep
