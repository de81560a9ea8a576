// Digests computed without loading a crypto library, for the work of a
// start: SHA-256 (FIPS 180-4) for short keys, CRC-32C (Castagnoli) as the
// engine cache's corruption check, and MD5 (RFC 1321), SHA-1 and SHA-256 of
// small files (the engine hashes large ones with OpenSSL, which is faster but
// costs milliseconds to load).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::compile {

class Sha256Small {
 public:
  Sha256Small();
  void Update(const void* data, size_t n);
  std::array<uint8_t, 32> Final();
  std::string HexFinal();

 private:
  void Block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t used_ = 0;
  uint64_t total_ = 0;
};

// One-shot digests: MD5 writes 16 bytes, SHA-1 20, SHA-256 32.
void Md5Small(const void* data, size_t n, uint8_t* out);
void Sha1Small(const void* data, size_t n, uint8_t* out);
void Sha256SmallOnce(const void* data, size_t n, uint8_t* out);

// CRC-32C of `data`, continuing from `crc` (0 to start). Uses the SSE4.2
// instruction where the CPU has it.
uint32_t Crc32c(uint32_t crc, const void* data, size_t n);

}  // namespace vigil::compile
