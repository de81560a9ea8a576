// Little-endian integer reads and writes of the file formats' fields. The
// caller checks the bounds: these read exactly the bytes they are given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vigil {

inline uint16_t Le16(const void* p) {
  const auto* u = static_cast<const uint8_t*>(p);
  return static_cast<uint16_t>(u[0] | u[1] << 8);
}
inline uint32_t Le32(const void* p) {
  const auto* u = static_cast<const uint8_t*>(p);
  return u[0] | u[1] << 8 | u[2] << 16 | static_cast<uint32_t>(u[3]) << 24;
}
inline uint16_t Le16(std::string_view d, size_t off) { return Le16(d.data() + off); }
inline uint32_t Le32(std::string_view d, size_t off) { return Le32(d.data() + off); }

// Writes the low `n` bytes of `v`, least significant first.
inline void PutLe(void* p, uint32_t v, int n) {
  auto* u = static_cast<uint8_t*>(p);
  for (int i = 0; i < n; ++i) u[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutLe32(void* p, uint32_t v) { PutLe(p, v, 4); }

}  // namespace vigil
