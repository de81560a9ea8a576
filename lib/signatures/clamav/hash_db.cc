// .hdb .hsb (detections) and .fp .sfp (allow-lists):
//   HashString:FileSize:Name[:MinFL[:MaxFL]]
// The hash kind follows from its length: 32 hex MD5, 40 SHA1, 64 SHA256.
// FileSize "*" means any size.
#include "signatures/clamav/lines.h"

namespace vigil::sig {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Status ParseHashDb(std::string_view text, const DbSource& src, bool allow_list, SignatureSet* out) {
  using internal::Split;
  std::vector<std::pair<HashSig, std::string>> parsed;
  Status st = internal::ForEachLine(text, src, [&](std::string_view line, size_t) -> Status {
    auto f = Split(line, ':');
    if (f.size() < 3 || f.size() > 5) return Status::Corruption("expected HASH:SIZE:NAME[:MINFL[:MAXFL]]");
    HashSig h;
    std::string_view hex = f[0];
    switch (hex.size()) {
      case 32: h.kind = HashKind::kMd5; break;
      case 40: h.kind = HashKind::kSha1; break;
      case 64: h.kind = HashKind::kSha256; break;
      default: return Status::Corruption("hash '" + std::string(hex) + "' is not MD5, SHA1 or SHA256 (32, 40 or 64 hex digits)");
    }
    for (size_t i = 0; i < hex.size(); i += 2) {
      int a = Hex(hex[i]), b = Hex(hex[i + 1]);
      if (a < 0 || b < 0) return Status::Corruption("bad hex digit in hash '" + std::string(hex) + "'");
      h.digest[i / 2] = static_cast<uint8_t>(a << 4 | b);
    }
    if (f[1] == "*") {
      // ClamAV requires wildcard-size entries to declare FLEVEL >= 73, so
      // that engines older than the feature never misread them.
      if (internal::MinFlevel(f, 3) < 73)
        return Status::Corruption("minimum FLEVEL field must be at least 73 for wildcard size hash signatures");
      h.size = kAnySize;
    } else if (!internal::ParseNumber(f[1], &h.size) || h.size < 0) {
      return Status::Corruption("bad file size '" + std::string(f[1]) + "'");
    }
    if (f[2].empty()) return Status::Corruption("empty signature name");
    if (!internal::FlevelApplies(f, 3)) return Status::Ok();  // skipped, uncounted
    parsed.emplace_back(h, std::string(f[2]));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  auto& dest = allow_list ? out->allow : out->hashes;
  dest.reserve(dest.size() + parsed.size());
  for (auto& [h, name] : parsed) {
    h.name = out->AddName(allow_list ? name : DisplayName(name, src.official));
    dest.push_back(h);
  }
  out->known += parsed.size();
  return Status::Ok();
}

Status ParseIgn2(std::string_view text, const DbSource& src, SignatureSet* out) {
  std::vector<std::string> names;
  Status st = internal::ForEachLine(text, src, [&](std::string_view line, size_t) -> Status {
    // "Name" or "Name:md5-of-entry"; only the name is used.
    auto f = internal::Split(line, ':');
    if (f[0].empty()) return Status::Corruption("empty signature name");
    names.emplace_back(f[0]);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  for (auto& n : names) out->ignored.insert(std::move(n));
  return Status::Ok();
}

}  // namespace vigil::sig
