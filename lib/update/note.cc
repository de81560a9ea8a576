#include "update/note.h"

#include <sodium.h>

#include <cstring>
#include <vector>

#include "update/util.h"

namespace vigil::update {
namespace {

constexpr uint8_t kEd25519 = 0x01;
constexpr std::string_view kSigPrefix = "\xe2\x80\x94 ";  // U+2014 EM DASH, space
constexpr size_t kMaxNote = 1 << 20;
constexpr size_t kMaxSignatures = 100;

bool SodiumReady() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  return s;
}

bool ParseKeyIdHex(std::string_view hex, uint32_t* out) {
  if (hex.size() != 8) return false;
  uint32_t v = 0;
  for (char c : hex) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;
    v = v << 4 | static_cast<uint32_t>(d);
  }
  *out = v;
  return true;
}

std::string KeyIdHex(uint32_t id) {
  uint8_t b[4] = {uint8_t(id >> 24), uint8_t(id >> 16), uint8_t(id >> 8), uint8_t(id)};
  return Hex(b, 4);
}

// Splits "a+b+c" into at most `n` parts; the last part keeps any further '+'
// (base64 may contain '+').
std::vector<std::string_view> SplitPlus(std::string_view s, size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    size_t p = s.find('+');
    if (p == std::string_view::npos) break;
    parts.push_back(s.substr(0, p));
    s.remove_prefix(p + 1);
  }
  parts.push_back(s);
  return parts;
}

bool ValidText(std::string_view text) {
  if (text.empty() || text.back() != '\n') return false;
  if (text.find("\n\n") != std::string_view::npos || text.front() == '\n') return false;
  for (unsigned char c : text)
    if (c < 0x20 && c != '\n') return false;
  return true;
}

}  // namespace

bool ValidKeyName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c == '+' || c == 0x7f) return false;
  return true;
}

uint32_t NoteKeyId(std::string_view name, const std::array<uint8_t, 32>& pk) {
  std::string data(name);
  data += '\n';
  data += static_cast<char>(kEd25519);
  data.append(reinterpret_cast<const char*>(pk.data()), pk.size());
  Hash h = Sha256(data);
  return uint32_t(h[0]) << 24 | uint32_t(h[1]) << 16 | uint32_t(h[2]) << 8 | h[3];
}

NoteVerifier NoteSigner::Verifier() const {
  NoteVerifier v;
  v.name = name;
  v.key_id = key_id;
  std::memcpy(v.public_key.data(), secret_key.data() + 32, 32);
  return v;
}

Result<NoteSigner> SignerFromSeed(std::string_view name, const std::array<uint8_t, 32>& seed) {
  if (!SodiumReady()) return Status::Internal("libsodium failed to initialise");
  if (!ValidKeyName(name)) return Status::InvalidArgument("invalid key name '" + std::string(name) + "'");
  NoteSigner s;
  s.name = std::string(name);
  std::array<uint8_t, 32> pk{};
  crypto_sign_ed25519_seed_keypair(pk.data(), s.secret_key.data(), seed.data());
  s.key_id = NoteKeyId(name, pk);
  return s;
}

Result<NoteSigner> GenerateSigner(std::string_view name) {
  if (!SodiumReady()) return Status::Internal("libsodium failed to initialise");
  std::array<uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  auto s = SignerFromSeed(name, seed);
  sodium_memzero(seed.data(), seed.size());
  return s;
}

std::string FormatSignerKey(const NoteSigner& s) {
  std::string raw(1, static_cast<char>(kEd25519));
  raw.append(reinterpret_cast<const char*>(s.secret_key.data()), 32);  // the seed
  std::string out = "PRIVATE+KEY+" + s.name + "+" + KeyIdHex(s.key_id) + "+" + Base64Encode(raw);
  sodium_memzero(raw.data(), raw.size());
  return out;
}

std::string FormatVerifierKey(const NoteVerifier& v) {
  std::string raw(1, static_cast<char>(kEd25519));
  raw.append(reinterpret_cast<const char*>(v.public_key.data()), 32);
  return v.name + "+" + KeyIdHex(v.key_id) + "+" + Base64Encode(raw);
}

Result<NoteSigner> ParseSignerKey(std::string_view text) {
  text = Trim(text);
  auto parts = SplitPlus(text, 5);
  if (parts.size() != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY")
    return Status::Corruption("not a signer key (expected PRIVATE+KEY+name+id+key)");
  uint32_t id;
  std::string raw;
  if (!ValidKeyName(parts[2]) || !ParseKeyIdHex(parts[3], &id) || !Base64Decode(parts[4], &raw) ||
      raw.size() != 33 || static_cast<uint8_t>(raw[0]) != kEd25519)
    return Status::Corruption("malformed signer key");
  std::array<uint8_t, 32> seed{};
  std::memcpy(seed.data(), raw.data() + 1, 32);
  sodium_memzero(raw.data(), raw.size());
  auto s = SignerFromSeed(parts[2], seed);
  sodium_memzero(seed.data(), seed.size());
  if (!s.ok()) return s.status();
  if (s->key_id != id) return Status::Corruption("signer key id does not match its key");
  return s;
}

Result<NoteVerifier> ParseVerifierKey(std::string_view text) {
  text = Trim(text);
  auto parts = SplitPlus(text, 3);
  NoteVerifier v;
  std::string raw;
  if (parts.size() != 3 || !ValidKeyName(parts[0]) || !ParseKeyIdHex(parts[1], &v.key_id) ||
      !Base64Decode(parts[2], &raw) || raw.size() != 33 || static_cast<uint8_t>(raw[0]) != kEd25519)
    return Status::Corruption("malformed verifier key (expected name+id+base64 Ed25519 key)");
  v.name = std::string(parts[0]);
  std::memcpy(v.public_key.data(), raw.data() + 1, 32);
  if (NoteKeyId(v.name, v.public_key) != v.key_id)
    return Status::Corruption("verifier key id does not match its key");
  return v;
}

Result<std::string> SignNote(std::string_view text, const NoteSigner& signer) {
  if (!SodiumReady()) return Status::Internal("libsodium failed to initialise");
  if (!ValidText(text)) return Status::InvalidArgument("invalid note text");
  std::string sig(4 + crypto_sign_BYTES, '\0');
  sig[0] = static_cast<char>(signer.key_id >> 24);
  sig[1] = static_cast<char>(signer.key_id >> 16);
  sig[2] = static_cast<char>(signer.key_id >> 8);
  sig[3] = static_cast<char>(signer.key_id);
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data() + 4), nullptr,
                       reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                       signer.secret_key.data());
  std::string note(text);
  note += '\n';
  note += kSigPrefix;
  note += signer.name;
  note += ' ';
  note += Base64Encode(sig);
  note += '\n';
  return note;
}

bool SplitNote(std::string_view note, std::string_view* text, std::string_view* sigs) {
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return false;
  *text = note.substr(0, split + 1);
  *sigs = note.substr(split + 2);
  return true;
}

Result<std::string> OpenNote(std::string_view note, const NoteVerifier& verifier) {
  if (!SodiumReady()) return Status::Internal("libsodium failed to initialise");
  if (note.size() > kMaxNote) return Status::Corruption("note too large");
  std::string_view text, sigs;
  if (!SplitNote(note, &text, &sigs)) return Status::Corruption("malformed note: no signature block");
  if (!ValidText(text)) return Status::Corruption("malformed note: invalid text");
  if (sigs.empty() || sigs.back() != '\n') return Status::Corruption("malformed note: signature block");
  size_t count = 0;
  bool found = false;
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (++count > kMaxSignatures) return Status::Corruption("malformed note: too many signatures");
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix)
      return Status::Corruption("malformed note: signature line without '\xe2\x80\x94 '");
    line.remove_prefix(kSigPrefix.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return Status::Corruption("malformed note: signature line");
    std::string_view name = line.substr(0, sp);
    std::string raw;
    if (!ValidKeyName(name) || !Base64Decode(line.substr(sp + 1), &raw) || raw.size() < 5)
      return Status::Corruption("malformed note: signature line");
    uint32_t id = uint32_t(uint8_t(raw[0])) << 24 | uint32_t(uint8_t(raw[1])) << 16 |
                  uint32_t(uint8_t(raw[2])) << 8 | uint8_t(raw[3]);
    if (found || name != verifier.name || id != verifier.key_id) continue;
    found = true;
    if (raw.size() != 4 + crypto_sign_BYTES ||
        crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(raw.data() + 4),
                                    reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                                    verifier.public_key.data()) != 0)
      return Status::Corruption("bad signature by key '" + verifier.name + "'");
  }
  if (!found) return Status::Corruption("note is not signed by key '" + verifier.name + "'");
  return std::string(text);
}

}  // namespace vigil::update
