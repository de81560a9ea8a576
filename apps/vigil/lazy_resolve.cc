// Resolver behind the lazily bound library functions of `vigil` (see
// cmake/lazy_libs.py and lazy_bind.S): opens the function's library on first
// use and records the function's address in its slot.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

extern "C" {
// Emitted by cmake/lazy_libs.py.
extern const uint32_t vigil_lazy_count;
extern const uint16_t vigil_lazy_lib_of[];
extern const char vigil_lazy_names[];  // NUL-separated, in slot order
extern const char vigil_lazy_libs[];   // NUL-separated sonames
extern void* vigil_lazy_slots[];

void* vigil_lazy_resolve(uint32_t index);
}

namespace {

const char* Nth(const char* blob, size_t n) {
  while (n--) blob += std::strlen(blob) + 1;
  return blob;
}

[[noreturn]] void Die(const char* lib, const char* what) {
  // Without the library the program cannot go on; say which one is missing.
  const char* parts[] = {"vigil: cannot use ", lib, ": ", what ? what : "unknown error", "\n"};
  for (const char* p : parts) {
    ssize_t r = write(2, p, std::strlen(p));
    (void)r;
  }
  std::abort();
}

}  // namespace

extern "C" void* vigil_lazy_resolve(uint32_t index) {
  static std::mutex mu;
  static void* handles[64];
  std::lock_guard<std::mutex> lock(mu);
  if (void* done = __atomic_load_n(&vigil_lazy_slots[index], __ATOMIC_ACQUIRE)) return done;
  if (index >= vigil_lazy_count) std::abort();
  unsigned lib = vigil_lazy_lib_of[index];
  const char* soname = Nth(vigil_lazy_libs, lib);
  if (lib >= 64) Die(soname, "too many lazily bound libraries");
  if (!handles[lib]) {
    handles[lib] = dlopen(soname, RTLD_LAZY | RTLD_GLOBAL);
    if (!handles[lib]) Die(soname, dlerror());
  }
  const char* name = Nth(vigil_lazy_names, index);
  dlerror();
  void* fn = dlsym(handles[lib], name);
  if (!fn) Die(soname, dlerror());
  __atomic_store_n(&vigil_lazy_slots[index], fn, __ATOMIC_RELEASE);
  return fn;
}
