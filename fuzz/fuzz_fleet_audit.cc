// ReadAudit on arbitrary file contents: must return a Status, never crash.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fleet/audit.h"

namespace {

// One anonymous temporary file per fuzzing process, rewritten for each input.
// It is unlinked at once (libFuzzer does not always exit through atexit) and
// read back through /proc/self/fd.
int TempFd() {
  static const int fd = [] {
    char tmpl[] = "/tmp/fuzz_fleet_audit-XXXXXX";
    int f = mkstemp(tmpl);
    if (f < 0) abort();
    unlink(tmpl);
    return f;
  }();
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = TempFd();
  if (ftruncate(fd, 0) != 0) abort();
  size_t done = 0;
  while (done < size) {
    ssize_t w = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (w <= 0) abort();
    done += static_cast<size_t>(w);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  vigil::fleet::AuditQuery q;
  std::string warning;
  (void)vigil::fleet::ReadAudit(path, q, &warning);
  // The filters walk the inputs: exercise them on whatever parsed.
  q.country = "DE";
  q.license = "K";
  q.limit = 1;
  (void)vigil::fleet::ReadAudit(path, q, &warning);
  return 0;
}
