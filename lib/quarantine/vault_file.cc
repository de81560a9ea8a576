#include "quarantine/vault_file.h"

#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "quarantine/fs.h"

namespace vigil::quarantine {
namespace {

static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == kKeyBytes);
static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == 24);
constexpr size_t kAuthBytes = 40;  // header bytes authenticated as associated data
constexpr size_t kABytes = crypto_secretstream_xchacha20poly1305_ABYTES;

void PutU16(std::string* s, uint16_t v) {
  for (int i = 0; i < 2; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetLE(std::string_view s, size_t off, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[off + static_cast<size_t>(i)]);
  return v;
}

// Reads exactly n bytes at *off (fewer only at end of file).
Result<std::string> PreadUpTo(int fd, uint64_t* off, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, out.data() + got, n - got, static_cast<off_t>(*off + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read vault file", errno);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  *off += got;
  return out;
}

}  // namespace

bool SodiumReady() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

VaultKey NewKey() {
  VaultKey k{};
  crypto_secretstream_xchacha20poly1305_keygen(k.data());
  return k;
}

std::string EncodeKeyFile(const VaultKey& key) {
  std::string s(kKeyMagic, sizeof kKeyMagic);
  PutU32(&s, kKeyVersion);
  PutU32(&s, 1);  // algorithm 1: secretstream XChaCha20-Poly1305
  s.append(reinterpret_cast<const char*>(key.data()), key.size());
  return s;
}

Result<VaultKey> DecodeKeyFile(std::string_view b) {
  if (b.size() < 16 || std::memcmp(b.data(), kKeyMagic, 8) != 0)
    return Status::Corruption("vault key file: bad magic");
  uint32_t version = static_cast<uint32_t>(GetLE(b, 8, 4));
  if (version != kKeyVersion)
    return Status::Corruption("vault key file: version " + std::to_string(version) +
                              " is not supported (expected " + std::to_string(kKeyVersion) + ")");
  if (GetLE(b, 12, 4) != 1) return Status::Corruption("vault key file: unknown algorithm");
  if (b.size() != kKeyFileSize) return Status::Corruption("vault key file: wrong size");
  VaultKey k{};
  std::memcpy(k.data(), b.data() + 16, kKeyBytes);
  return k;
}

struct ContentWriter::State {
  crypto_secretstream_xchacha20poly1305_state s;
};

ContentWriter::ContentWriter(int fd, const VaultKey& key, std::string_view id, uint64_t size)
    : fd_(fd), key_(key), id_(id), size_(size), st_(new State) {}

ContentWriter::~ContentWriter() {
  sodium_memzero(st_, sizeof *st_);
  delete st_;
  sodium_memzero(key_.data(), key_.size());
}

Status ContentWriter::Begin() {
  if (!SodiumReady()) return Status::Internal("libsodium failed to initialise");
  if (id_.empty() || id_.size() > kIdBytes) return Status::InvalidArgument("bad vault entry id");
  header_.assign(kFileMagic, sizeof kFileMagic);
  PutU16(&header_, kFileVersion);
  PutU16(&header_, kFileHeaderSize);
  PutU32(&header_, 0);  // flags
  std::string id = id_;
  id.resize(kIdBytes, '\0');
  header_ += id;
  PutU64(&header_, size_);
  unsigned char ss[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&st_->s, ss, key_.data());
  std::string full = header_;
  full.append(reinterpret_cast<const char*>(ss), sizeof ss);
  return WriteAll(fd_, full, "write vault file");
}

Status ContentWriter::Flush(bool final) {
  std::string rec(4 + pending_.size() + kABytes, '\0');
  unsigned long long clen = 0;
  crypto_secretstream_xchacha20poly1305_push(
      &st_->s, reinterpret_cast<unsigned char*>(rec.data() + 4), &clen,
      reinterpret_cast<const unsigned char*>(pending_.data()), pending_.size(),
      reinterpret_cast<const unsigned char*>(header_.data()), header_.size(),
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
  for (int i = 0; i < 4; ++i) rec[static_cast<size_t>(i)] = static_cast<char>(clen >> (8 * i));
  pending_.clear();
  return WriteAll(fd_, rec, "write vault file");
}

Status ContentWriter::Update(std::string_view data) {
  plain_bytes_ += data.size();
  while (!data.empty()) {
    // Keep up to one full chunk pending so that the last chunk can carry TAG_FINAL.
    if (pending_.size() == kChunkBytes) VIGIL_RETURN_IF_ERROR(Flush(false));
    size_t take = std::min(data.size(), kChunkBytes - pending_.size());
    pending_.append(data.substr(0, take));
    data.remove_prefix(take);
  }
  return Status::Ok();
}

Status ContentWriter::Finish() {
  if (plain_bytes_ != size_)
    return Status::IoError("file size changed while copying (" + std::to_string(size_) + " -> " +
                           std::to_string(plain_bytes_) + " bytes)");
  return Flush(true);
}

Result<ContentHeader> ParseContentHeader(std::string_view b) {
  if (b.size() < kFileHeaderSize || std::memcmp(b.data(), kFileMagic, 8) != 0)
    return Status::Corruption("not a vigil vault file (bad magic)");
  ContentHeader h;
  h.version = static_cast<uint16_t>(GetLE(b, 8, 2));
  if (h.version != kFileVersion)
    return Status::Corruption("vault file version " + std::to_string(h.version) +
                              " is not supported (expected " + std::to_string(kFileVersion) + ")");
  if (GetLE(b, 10, 2) != kFileHeaderSize) return Status::Corruption("vault file: bad header size");
  std::string id(b.substr(16, kIdBytes));
  id.resize(std::strlen(id.c_str()));
  h.id = id;
  h.size = GetLE(b, 32, 8);
  return h;
}

Result<uint64_t> ReadContent(int fd, const VaultKey& key, std::string_view expected_id,
                             const std::function<Status(std::string_view)>& sink) {
  if (!SodiumReady()) return Status::Internal("libsodium failed to initialise");
  uint64_t off = 0;
  auto head = PreadUpTo(fd, &off, kFileHeaderSize);
  if (!head.ok()) return head.status();
  auto h = ParseContentHeader(*head);
  if (!h.ok()) return h.status();
  if (h->id != expected_id)
    return Status::Corruption("vault file belongs to entry '" + h->id + "', not '" +
                              std::string(expected_id) + "'");
  crypto_secretstream_xchacha20poly1305_state st;
  if (crypto_secretstream_xchacha20poly1305_init_pull(
          &st, reinterpret_cast<const unsigned char*>(head->data() + kAuthBytes), key.data()) != 0)
    return Status::Corruption("vault file: bad stream header");
  const auto* ad = reinterpret_cast<const unsigned char*>(head->data());
  uint64_t total = 0;
  std::string plain(kChunkBytes, '\0');
  while (true) {
    auto len = PreadUpTo(fd, &off, 4);
    if (!len.ok()) return len.status();
    if (len->size() < 4) return Status::Corruption("vault file is truncated (no final chunk)");
    uint64_t clen = GetLE(*len, 0, 4);
    if (clen < kABytes || clen > kChunkBytes + kABytes)
      return Status::Corruption("vault file: bad chunk length");
    auto c = PreadUpTo(fd, &off, static_cast<size_t>(clen));
    if (!c.ok()) return c.status();
    if (c->size() != clen) return Status::Corruption("vault file is truncated");
    unsigned long long mlen = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(
            &st, reinterpret_cast<unsigned char*>(plain.data()), &mlen, &tag,
            reinterpret_cast<const unsigned char*>(c->data()), c->size(), ad, kAuthBytes) != 0)
      return Status::Corruption("vault file fails authentication (wrong key or tampered)");
    total += mlen;
    if (total > h->size) return Status::Corruption("vault file holds more bytes than its header says");
    VIGIL_RETURN_IF_ERROR(sink(std::string_view(plain.data(), static_cast<size_t>(mlen))));
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) break;
  }
  auto extra = PreadUpTo(fd, &off, 1);
  if (!extra.ok()) return extra.status();
  if (!extra->empty()) return Status::Corruption("vault file has bytes after its final chunk");
  if (total != h->size) return Status::Corruption("vault file holds fewer bytes than its header says");
  sodium_memzero(plain.data(), plain.size());
  return total;
}

}  // namespace vigil::quarantine
