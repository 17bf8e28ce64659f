// Running Slurm's commands (sbatch, squeue, sacct, scancel) and capturing
// what they print.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace sweep::slurm {

struct CommandResult {
  int exit_code = -1;  // -1: it could not be started or was killed by a signal
  std::string out, err;
};

// Where a Slurm command is: $PATH first, then /usr/bin, /usr/sbin and
// /usr/local/bin (root's PATH on a node often lacks sbin). nullopt when none.
std::optional<std::string> find_program(const std::string& name);

// Run argv[0] (a path) with the rest as its arguments, without a shell,
// capturing stdout and stderr; `input` is written to its stdin.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = {});

// The absolute path of the running executable (/proc/self/exe).
std::string self_executable();

}  // namespace sweep::slurm
