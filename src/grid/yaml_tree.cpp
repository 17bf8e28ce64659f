#include "grid/yaml_tree.h"

#include <charconv>
#include <cstdio>
#include <optional>
#include <cstdlib>
#include <set>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace sweep {

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string parent_path(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

SourceLocation YamlTree::nearest(const std::string& path) const {
  std::string p = path;
  while (true) {
    if (auto it = value_at.find(p); it != value_at.end()) return it->second;
    if (p.empty()) return SourceLocation{file, 0, 0};
    p = parent_path(p);
  }
}

void YamlTree::move_locations(const std::string& from, const std::string& to) {
  for (auto* map : {&value_at, &key_at}) {
    std::vector<std::pair<std::string, SourceLocation>> moved;
    for (auto it = map->begin(); it != map->end();) {
      const std::string& k = it->first;
      if (k == from || k.starts_with(from + ".")) {
        moved.emplace_back(to + k.substr(from.size()), it->second);
        it = map->erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [k, loc] : moved) (*map)[k] = loc;
  }
}

namespace {

// The offset of the first byte that is not part of a well-formed UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
std::optional<size_t> first_invalid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c < 0x80) len = 1;
    else if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else return i;
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char b = p[i + k];
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return i;
    }
    i += len;
  }
  return std::nullopt;
}

SourceLocation location(const std::string& file, const YAML::Mark& mark) {
  if (mark.line < 0) return SourceLocation{file, 0, 0};
  return SourceLocation{file, mark.line + 1, mark.column + 1};
}

bool is_integer_text(const std::string& s) {
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// YAML 1.2 core floats: digits with an optional point and exponent (1e-4, .5, 3.0).
bool is_float_text(const std::string& s) {
  bool digit = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') digit = true;
    else if (c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+') return false;
  }
  return digit;
}

// A scalar as yaml-cpp decoded it, made UTF-8. The file itself is checked to
// be UTF-8 (read_yaml), so a byte that is not can only come from an escape:
// yaml-cpp 0.7 decodes "\N" and "\_" in double quotes to the single bytes 0x85
// and 0xA0, the Latin-1 form of the characters they mean (U+0085, U+00A0).
// Such a byte is written as that character.
std::string utf8_scalar(const std::string& decoded) {
  std::optional<size_t> bad = first_invalid_utf8(decoded);
  if (!bad) return decoded;
  std::string out;
  size_t from = 0;
  while (bad) {
    out.append(decoded, from, *bad - from);
    const auto byte = static_cast<unsigned char>(decoded[*bad]);
    out += static_cast<char>(0xC0 | (byte >> 6));
    out += static_cast<char>(0x80 | (byte & 0x3F));
    from = *bad + 1;
    const std::optional<size_t> next = first_invalid_utf8(decoded.substr(from));
    bad = next ? std::optional<size_t>(from + *next) : std::nullopt;
  }
  out.append(decoded, from, std::string::npos);
  return out;
}

json scalar_value(const YAML::Node& node) {
  const std::string s = utf8_scalar(node.Scalar());
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (is_integer_text(s)) {
    int64_t v = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
  }
  if (is_float_text(s)) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() + s.size()) return v;
  }
  return s;
}

struct Converter {
  YamlTree& tree;

  json convert(const YAML::Node& node, const std::string& path) {
    tree.value_at[path] = location(tree.file, node.Mark());
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: return nullptr;
      case YAML::NodeType::Scalar: return scalar_value(node);
      case YAML::NodeType::Sequence: {
        json out = json::array();
        size_t i = 0;
        for (const YAML::Node& item : node) out.push_back(convert(item, join_path(path, std::to_string(i++))));
        return out;
      }
      case YAML::NodeType::Map: {
        json out = json::object();
        for (const auto& kv : node) {
          const SourceLocation key_loc = location(tree.file, kv.first.Mark());
          if (!kv.first.IsScalar()) throw InputError("a mapping key must be a plain name", key_loc, path);
          const std::string key = utf8_scalar(kv.first.Scalar());
          const std::string child = join_path(path, key);
          if (out.contains(key)) throw InputError("duplicate key '" + key + "'", key_loc, child);
          tree.key_at[child] = key_loc;
          out[key] = convert(kv.second, child);
          // An empty value (`key:`) has no mark of its own: point at the key.
          if (tree.value_at[child].line == 0) tree.value_at[child] = key_loc;
        }
        return out;
      }
    }
    return nullptr;
  }
};

// 1-based line and column (in characters, not bytes) of byte `offset`.
SourceLocation location_of_byte(const std::string& text, size_t offset, const std::string& file) {
  int line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') ++line, column = 1;
    else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;  // count characters, not bytes
  }
  return SourceLocation{file, line, column};
}

// The offset of the first control character YAML 1.2 does not allow in a
// stream (its c-printable set keeps tab, LF and CR of C0, and NEL of C1).
// NUL matters most: yaml-cpp takes a stream with NUL bytes in its first
// characters for UTF-16 or UTF-32 and decodes it as such, which can turn
// well-formed UTF-8 into unpaired surrogates that nothing downstream accepts.
// `text` is well-formed UTF-8 here.
std::optional<size_t> first_control_character(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return i;
    // U+0080..U+009F are C2 80..C2 9F; U+0085 (NEL) is allowed.
    if (c == 0xC2 && i + 1 < s.size()) {
      const auto next = static_cast<unsigned char>(s[i + 1]);
      if (next >= 0x80 && next <= 0x9F && next != 0x85) return i;
    }
  }
  return std::nullopt;
}

}  // namespace

YamlTree read_yaml(const std::string& text, const std::string& file) {
  // Names and values end up in JSON, SQLite and terminals: bytes that are not
  // UTF-8, and control characters YAML forbids, are refused here, at their
  // place in the file, before anything downstream can choke on them with a
  // message of its own.
  if (const auto bad = first_invalid_utf8(text)) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[*bad]));
    throw InputError(std::string("the grid file is not valid UTF-8: byte ") + byte +
                         " is not part of a valid UTF-8 character (save the file as UTF-8)",
                     location_of_byte(text, *bad, file));
  }
  if (const auto bad = first_control_character(text)) {
    const auto c = static_cast<unsigned char>(text[*bad]);
    const unsigned code = c == 0xC2 ? static_cast<unsigned char>(text[*bad + 1]) : c;
    char name[8];
    std::snprintf(name, sizeof name, "U+%04X", code);
    throw InputError(std::string("the grid file contains control character ") + name +
                         ", which YAML does not allow (only tab, line breaks and printable text)" +
                         (code == 0 ? "; NUL bytes mean UTF-16 or UTF-32: save the file as UTF-8" : ""),
                     location_of_byte(text, *bad, file));
  }
  YamlTree tree;
  tree.file = file;
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw InputError("YAML syntax error: " + e.msg, location(file, e.mark));
  } catch (const YAML::Exception& e) {
    throw InputError("cannot read YAML: " + e.msg, location(file, e.mark));
  }
  Converter c{tree};
  tree.root = c.convert(doc, "");
  if (tree.value_at[""].line == 0) tree.value_at[""] = SourceLocation{file, 1, 1};
  return tree;
}

}  // namespace sweep
