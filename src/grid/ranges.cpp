#include "grid/ranges.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/json_text.h"
#include "expand/expand.h"

namespace sweep {
namespace {

// 12 significant digits, read back from their decimal text: 0.1 + 2 * 0.1 is
// the 0.3 a user would have written, so a range and the list written out are
// the same doubles and hence the same run hashes.
double decimal(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.12g", v);
  return std::strtod(text, nullptr);
}

struct RangeReader {
  YamlTree& tree;
  const std::string& path;  // the field's tree path ("train.learning_rate")
  std::string kind;         // "range" or "logspace"

  [[noreturn]] void fail(const std::string& at, const std::string& message) const {
    throw InputError(message, tree.nearest(at), path);
  }

  const json& args(const json& v, const char* form) const {
    const std::string at = path + "." + kind;
    if (!v.is_array() || v.size() != 3)
      fail(at, kind + " needs three values " + form + ", got '" + shown(v) + "'");
    for (size_t i = 0; i < 3; ++i)
      if (!v[i].is_number() || !std::isfinite(v[i].get<double>()))
        fail(at + "." + std::to_string(i), kind + " needs finite numbers " + form + ", got '" + shown(v[i]) + "'");
    return v;
  }

  void too_many(double count) const {
    if (count > static_cast<double>(kMaxRuns))
      fail(path + "." + kind, kind + " gives " + (std::isfinite(count) ? std::to_string(static_cast<int64_t>(count)) : "too many") +
                                  " values; an axis may have at most " + std::to_string(kMaxRuns));
  }

  // [start, stop, step]: start, start + step, ... up to stop, which is
  // included when it lands on it (within 1e-9 of a step, so 0.1 steps reach 1).
  json range(const json& v) const {
    args(v, "[start, stop, step]");
    const double start = v[0].get<double>(), stop = v[1].get<double>(), step = v[2].get<double>();
    const std::string at = path + ".range";
    if (step == 0) fail(at + ".2", "range step must not be 0");
    const double steps = (stop - start) / step;
    if (steps < -1e-9)
      fail(at + ".2", "range step " + shown(v[2]) + " goes away from stop " + shown(v[1]) + " (start " + shown(v[0]) +
                          "): use a step of the other sign");
    too_many(steps + 1);
    const int64_t count = static_cast<int64_t>(std::floor(steps + 1e-9)) + 1;
    json out = json::array();
    const bool ints = v[0].is_number_integer() && v[1].is_number_integer() && v[2].is_number_integer();
    // Integer values must stay exact (and their arithmetic defined): within 2^53.
    if (ints && std::fabs(start) + static_cast<double>(count) * std::fabs(step) > 9007199254740991.0)
      fail(at, "range values must stay within 2^53 in size, got '" + v.dump() + "'");
    for (int64_t k = 0; k < count; ++k) {
      if (ints) {
        out.push_back(v[0].get<int64_t>() + k * v[2].get<int64_t>());
      } else {
        const double x = start + static_cast<double>(k) * step;
        out.push_back(std::fabs(x - stop) <= 1e-9 * std::fabs(step) ? stop : decimal(x));
      }
    }
    return out;
  }

  // [start, stop, n]: n values from start to stop (both included), evenly
  // spaced on a log scale, as numpy.geomspace: the values themselves, not
  // exponents, as learning rates are written in Keras (1.0e-4 ... 1.0e-1).
  json logspace(const json& v) const {
    args(v, "[start, stop, n]");
    const std::string at = path + ".logspace";
    for (size_t i = 0; i < 2; ++i)
      if (v[i].get<double>() <= 0)
        fail(at + "." + std::to_string(i),
             "logspace takes the end values themselves, which must be > 0, got " + shown(v[i]) +
                 " (not exponents as numpy.logspace: for 10^-4 ... 10^-1 write [1.0e-4, 1.0e-1, 4])");
    if (!v[2].is_number_integer() || v[2].get<double>() < 1)
      fail(at + ".2", "logspace needs a whole number n >= 1 of values, got " + shown(v[2]));
    too_many(v[2].get<double>());
    const int64_t n = v[2].get<int64_t>();
    const double start = v[0].get<double>(), stop = v[1].get<double>();
    json out = json::array();
    for (int64_t k = 0; k < n; ++k) {
      if (k == 0) out.push_back(start);
      else if (k == n - 1) out.push_back(stop);
      else  // in logs: stop / start may overflow (1e-300 ... 1e300), their logs never do
        out.push_back(decimal(std::exp(std::log(start) + (std::log(stop) - std::log(start)) * static_cast<double>(k) /
                                                             static_cast<double>(n - 1))));
    }
    return out;
  }
};

bool is_range(const json& node) {
  return node.is_object() && node.size() == 1 &&
         (node.begin().key() == "range" || node.begin().key() == "logspace");
}

}  // namespace

void expand_ranges(json& node, const std::string& path, YamlTree& tree) {
  if (is_range(node)) {
    RangeReader reader{tree, path, node.begin().key()};
    const SourceLocation where = tree.nearest(path + "." + reader.kind);
    json values = reader.kind == "range" ? reader.range(node.begin().value()) : reader.logspace(node.begin().value());
    // Errors about one value (say "must be > 0") point at the range.
    for (size_t i = 0; i < values.size(); ++i) tree.value_at[join_path(path, std::to_string(i))] = where;
    node = std::move(values);
    return;
  }
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) expand_ranges(it.value(), join_path(path, it.key()), tree);
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) expand_ranges(node[i], join_path(path, std::to_string(i)), tree);
  }
}

}  // namespace sweep
