// docs/cli.md's reference section, written from the CLI11 definition itself.
#include <cctype>
#include <sstream>

#include "cli/app.h"

namespace sweep::cli {
namespace {

// One table cell: no line breaks, a `|` would end the cell, `<...>` would be HTML.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += ' ';
    else if (c == '|') out += "\\|";
    else if (c == '<') out += "&lt;";  // <db> would be read as an HTML tag and vanish
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// `-o, --output` for an option; `GRID` (`[DB]` when optional) for a positional.
std::string names_of(const CLI::Option& option) {
  if (option.get_positional()) {
    const std::string name = upper(option.get_name(true));
    return option.get_required() ? name : "[" + name + "]";
  }
  std::string names;
  for (const std::string& s : option.get_snames()) names += (names.empty() ? "-" : ", -") + s;
  for (const std::string& l : option.get_lnames()) names += (names.empty() ? "--" : ", --") + l;
  return names;
}

void command_section(std::ostream& out, const CLI::App& sub) {
  const auto options = sub.get_options([&](const CLI::Option* o) { return o != sub.get_help_ptr(); });
  std::string usage = "sweep " + sub.get_name();
  for (const CLI::Option* o : options)
    if (o->get_positional()) usage += " " + names_of(*o) + (o->get_items_expected_max() > 1 ? "..." : "");
  usage += " [options]";
  out << "### `sweep " << sub.get_name() << "`\n" << sub.get_description() << ".\n\n`" << usage << "`\n\n";
  out << "| argument or option | value | meaning | default |\n|---|---|---|---|\n";
  for (const CLI::Option* o : options) {
    std::string meaning = o->get_description();
    if (o->get_required() && !o->get_positional()) meaning += " (required)";
    const std::string fallback = o->get_default_str();
    out << "| `" << names_of(*o) << "` | " << cell(o->get_type_name()) << " | " << cell(meaning) << " | "
        << (fallback.empty() ? "" : "`" + cell(fallback) + "`") << " |\n";
  }
  out << "\n```text\n" << sub.get_footer() << "\n```\n\n";
}

}  // namespace

std::string cli_markdown(const CLI::App& app) {
  std::ostringstream out;
  out << kGeneratedBegin << "\n## Reference: every command and option\n\n"
      << "`sweep --version` prints the version; `sweep --help` and `sweep CMD --help` print what follows.\n\n";
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }))
    command_section(out, *sub);
  out << "```text\n" << app.get_footer() << "\n```\n" << kGeneratedEnd << "\n";
  return out.str();
}

}  // namespace sweep::cli
