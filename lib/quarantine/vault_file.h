// The vault's two byte formats (docs/formats/vault.md): the per-vault key
// file and the encrypted content file holding one quarantined file.
//
// Content is encrypted with libsodium's secretstream (XChaCha20-Poly1305) in
// 64 KiB chunks. The cleartext header (magic, version, entry id, size) is
// authenticated as associated data of every chunk, so a file cannot be
// renamed to another entry, truncated or extended without detection.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::quarantine {

inline constexpr size_t kKeyBytes = 32;
using VaultKey = std::array<unsigned char, kKeyBytes>;

// Key file: "VIGILKEY" u32 version u32 algorithm, then the 32-byte key.
inline constexpr char kKeyMagic[8] = {'V', 'I', 'G', 'I', 'L', 'K', 'E', 'Y'};
inline constexpr uint32_t kKeyVersion = 1;
inline constexpr size_t kKeyFileSize = 8 + 4 + 4 + kKeyBytes;

// Content file header: "VIGILQV\0" u16 version u16 header_size u32 flags,
// 16-byte entry id, u64 plaintext size, 24-byte secretstream header.
inline constexpr char kFileMagic[8] = {'V', 'I', 'G', 'I', 'L', 'Q', 'V', '\0'};
inline constexpr uint16_t kFileVersion = 1;
inline constexpr size_t kFileHeaderSize = 64;
inline constexpr size_t kIdBytes = 16;
inline constexpr size_t kChunkBytes = 1 << 16;

// Initialises libsodium once; false when it cannot be used.
bool SodiumReady();

VaultKey NewKey();
std::string EncodeKeyFile(const VaultKey& key);
Result<VaultKey> DecodeKeyFile(std::string_view bytes);

// Encrypts a stream of plaintext chunks into an open file descriptor.
// Usage: Begin, Update* (any sizes), Finish. Nothing is fsynced here.
class ContentWriter {
 public:
  ContentWriter(int fd, const VaultKey& key, std::string_view id, uint64_t size);
  ~ContentWriter();
  ContentWriter(const ContentWriter&) = delete;
  ContentWriter& operator=(const ContentWriter&) = delete;
  Status Begin();
  Status Update(std::string_view data);
  Status Finish();  // fails if the byte count differs from `size`
  uint64_t written() const { return plain_bytes_; }

 private:
  Status Flush(bool final);
  int fd_;
  VaultKey key_;
  std::string id_;
  uint64_t size_;
  uint64_t plain_bytes_ = 0;
  std::string header_;  // the authenticated part of the header
  std::string pending_;
  struct State;
  State* st_ = nullptr;
};

// Decrypts a content file (read with pread from offset 0), calling
// sink(plaintext) for each chunk. Fails (Corruption) on a wrong magic,
// version, id, key, a tampered or truncated file, or trailing bytes.
// Returns the plaintext size.
Result<uint64_t> ReadContent(int fd, const VaultKey& key, std::string_view expected_id,
                             const std::function<Status(std::string_view)>& sink);

// Parses just the cleartext header (for tools and tests).
struct ContentHeader {
  uint16_t version = 0;
  std::string id;
  uint64_t size = 0;
};
Result<ContentHeader> ParseContentHeader(std::string_view bytes);

}  // namespace vigil::quarantine
