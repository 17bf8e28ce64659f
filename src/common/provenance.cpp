#include "common/provenance.h"

#include <sys/utsname.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <nlohmann/json.hpp>

#ifndef SWEEP_GIT_COMMIT
#define SWEEP_GIT_COMMIT "unknown"
#endif

namespace sweep {
namespace {

// The value of the first "key<spaces>: value" line of a /proc-style file.
std::string field(const std::string& path, const std::string& key, char separator) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const auto at = line.find(separator);
    if (at == std::string::npos) continue;
    std::string value = line.substr(at + 1);
    value.erase(0, value.find_first_not_of(" \t\""));
    while (!value.empty() && (value.back() == '"' || value.back() == ' ')) value.pop_back();
    return value;
  }
  return "unknown";
}

// The flags that decide which oneDNN kernels run (AVX2, AVX-512, bf16, AMX).
std::string kernel_flags() {
  std::istringstream flags(field("/proc/cpuinfo", "flags", ':'));
  std::string flag, out;
  for (const char* wanted : {"avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile",
                             "amx_bf16", "amx_int8"}) {
    flags.clear();
    flags.seekg(0);
    while (flags >> flag)
      if (flag == wanted) {
        out += (out.empty() ? "" : " ") + flag;
        break;
      }
  }
  return out;
}

std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace

std::string provenance_json(const std::map<std::string, std::string>& libraries) {
  utsname system{};
  const bool have_uname = ::uname(&system) == 0;
  nlohmann::ordered_json p;
  p["cpu"] = field("/proc/cpuinfo", "model name", ':');
  p["cpu_flags"] = kernel_flags();
  p["cores"] = std::thread::hardware_concurrency();
  p["os"] = field("/etc/os-release", "PRETTY_NAME", '=');
  p["kernel"] = have_uname ? std::string(system.sysname) + " " + system.release : "unknown";
  p["compiler"] = compiler();
  p["sweep"] = SWEEP_VERSION;
  p["commit"] = SWEEP_GIT_COMMIT;
  p["libraries"] = libraries;
  return p.dump();
}

}  // namespace sweep
