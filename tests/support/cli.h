// Running the real `sweep` binary from tests (SWEEP_BINARY is defined by
// tests/CMakeLists.txt): shared by the end-to-end CLI and Slurm tests.
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sweep::test {

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Single-quote for /bin/sh.
inline std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

// Run `sweep ARGS` in `dir`, capturing stdout and stderr (in dir/out.txt,
// dir/err.txt). `env` goes before the binary as it is (a shell fragment such as
// "env -u LD_LIBRARY_PATH LD_DEBUG=libs").
inline CliResult run_sweep_cli(const std::filesystem::path& dir, const std::vector<std::string>& args,
                               const std::string& env = "") {
  std::string command = "cd " + shell_quote(dir.string()) + " && " + env + (env.empty() ? "" : " ") +
                        shell_quote(SWEEP_BINARY);
  for (const std::string& arg : args) command += " " + shell_quote(arg);
  command += " > out.txt 2> err.txt";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(dir / "out.txt"), read_file(dir / "err.txt")};
}

}  // namespace sweep::test
