#include "quarantine/fault.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vigil::quarantine {
namespace {

struct FaultConfig {
  long kill_at = 0;
  bool trace = false;
};

const FaultConfig& Config() {
  static const FaultConfig c = [] {
    FaultConfig f;
    if (const char* s = std::getenv("VIGIL_FAULT_STEP"); s && *s) f.kill_at = std::strtol(s, nullptr, 10);
    if (const char* s = std::getenv("VIGIL_FAULT_TRACE"); s && *s && std::strcmp(s, "0") != 0) f.trace = true;
    return f;
  }();
  return c;
}

}  // namespace

void FaultPoint(const char* step) {
  const FaultConfig& c = Config();
  if (c.kill_at <= 0 && !c.trace) return;
  static std::atomic<long> count{0};
  long n = ++count;
  if (c.trace) {
    char line[160];
    int len = std::snprintf(line, sizeof line, "vigil-fault-step %ld %s\n", n, step);
    if (len > 0) (void)!write(STDERR_FILENO, line, static_cast<size_t>(len));
  }
  if (n == c.kill_at) {
    raise(SIGKILL);
    _exit(137);  // not reached
  }
}

}  // namespace vigil::quarantine
