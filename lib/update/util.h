// Small helpers shared by the update client and server: SHA-256, hex and
// base64 (RFC 4648, strict), RFC 3339 UTC times, and durable file operations
// (write-then-rename with fsync of the file and of its directory).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::update {

using Hash = std::array<uint8_t, 32>;

Hash Sha256(std::string_view data);

// Incremental SHA-256 (for hashing downloads while they stream in).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(const void* data, size_t len);
  Hash Final();

 private:
  void* ctx_;  // EVP_MD_CTX
};

std::string Hex(const uint8_t* data, size_t len);
inline std::string Hex(const Hash& h) { return Hex(h.data(), h.size()); }
// Lower-case hex only; false on any other character or a wrong length.
bool ParseHexHash(std::string_view hex, Hash* out);

std::string Base64Encode(std::string_view data);
// Standard alphabet with padding; rejects anything non-canonical.
bool Base64Decode(std::string_view in, std::string* out);

// "2024-09-29T04:00:00Z" <-> seconds since the epoch (UTC only).
std::string FormatTime(int64_t unix_seconds);
bool ParseTime(std::string_view s, int64_t* out);
// Accepts RFC 3339 UTC or a plain number of seconds since the epoch.
bool ParseTimeOrSeconds(std::string_view s, int64_t* out);

// Decimal uint64 without sign, leading zeros (except "0") or overflow.
bool ParseU64(std::string_view s, uint64_t* out);

// Files.
Result<std::string> ReadFile(const std::string& path, uint64_t max_size = 1ull << 32);
// Writes `data` to `path` atomically and durably: temporary file in the same
// directory, fsync, rename, fsync of the directory.
// With sync=false the data is not fsynced (for files that can be regenerated).
Status WriteFileAtomic(const std::string& path, std::string_view data, int mode = 0644,
                       bool sync = true);
Status FsyncPath(const std::string& path);     // fsync a file or directory
Status MakeDirs(const std::string& path, int mode = 0755);
Status RemoveTree(const std::string& path);    // no error if missing
bool PathExists(const std::string& path);
std::string Dirname(const std::string& path);
std::string Basename(const std::string& path);
// "ERR (errno text)" for messages.
std::string ErrnoText(const std::string& what, int err);

}  // namespace vigil::update
