// What a reader needs to reproduce a sweep, recorded with it (sweeps.provenance,
// docs/schema.md): the machine (CPU model and the instruction-set flags that
// change which kernels run, cores, OS, kernel), the build (compiler, sweep's
// version and the git commit it was configured at) and the math libraries.
#pragma once
#include <map>
#include <string>

namespace sweep {

// Compact JSON text: {"cpu", "cpu_flags", "cores", "os", "kernel", "compiler",
// "sweep", "commit", "libraries": {name: version}}. Fields this machine cannot
// tell are "unknown".
std::string provenance_json(const std::map<std::string, std::string>& libraries);

}  // namespace sweep
