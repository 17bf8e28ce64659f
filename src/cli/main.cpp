// Entry point of the `sweep` command (the subcommands live beside this file).
#include <cstdio>
int main() {
  std::puts("sweep " SWEEP_VERSION);
  return 0;
}
