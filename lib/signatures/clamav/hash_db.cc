// .hdb .hsb (detections) and .fp .sfp (allow-lists):
//   HashString:FileSize:Name[:MinFL[:MaxFL]]
// The hash kind follows from its length: 32 hex MD5, 40 SHA1, 64 SHA256.
// FileSize "*" means any size.
#include <algorithm>

#include "signatures/clamav/lines.h"

namespace vigil::sig {
namespace {

// Hex digit values; -1 for anything else.
struct HexTable {
  int8_t v[256];
  constexpr HexTable() : v() {
    for (int i = 0; i < 256; ++i) v[i] = -1;
    for (int i = 0; i < 10; ++i) v['0' + i] = static_cast<int8_t>(i);
    for (int i = 0; i < 6; ++i) {
      v['a' + i] = static_cast<int8_t>(10 + i);
      v['A' + i] = static_cast<int8_t>(10 + i);
    }
  }
};
constexpr HexTable kHex;

int Hex(char c) { return kHex.v[static_cast<unsigned char>(c)]; }

}  // namespace

Status ParseHashDb(std::string_view text, const DbSource& src, bool allow_list, SignatureSet* out) {
  using internal::Split;
  // Entries go straight into *out; on error both vectors are cut back to
  // where they were, so nothing is half-loaded.
  auto& dest = allow_list ? out->allow : out->hashes;
  const size_t dest_before = dest.size(), names_before = out->names.size();
  size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  dest.reserve(dest_before + lines);
  out->names.Reserve(names_before + lines,
                     out->names.blob().size() + text.size() + lines * kUnofficialSuffix.size());
  const bool suffix = !allow_list && !src.official;
  std::string display;
  Status st = internal::ForEachLine(text, src, [&](std::string_view line, size_t) -> Status {
    auto f = Split(line, ':');
    if (f.size() < 3 || f.size() > 5) return Status::Corruption("expected HASH:SIZE:NAME[:MINFL[:MAXFL]]");
    // A line meant for other engine versions is skipped before the rest is
    // parsed: it may use hash or size forms this engine does not know.
    if (!internal::FlevelApplies(f, 3)) return Status::Ok();  // skipped, uncounted
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
    if (suffix) {
      display.assign(f[2]);
      display += kUnofficialSuffix;
      h.name = out->AddName(display);
    } else {
      h.name = out->AddName(f[2]);
    }
    dest.push_back(h);
    return Status::Ok();
  });
  if (!st.ok()) {
    dest.resize(dest_before);
    out->names.Truncate(names_before);
    return st;
  }
  out->known += dest.size() - dest_before;
  return Status::Ok();
}

Status ParseIgn2(std::string_view text, const DbSource& src, SignatureSet* out) {
  std::vector<std::string> names;
  Status st = internal::ForEachLine(text, src, [&](std::string_view line, size_t) -> Status {
    // "Name", "Name:md5-of-entry" or, in old .ign files, "Database:Line:Name";
    // only the name is used.
    auto f = internal::Split(line, ':');
    if (f.size() > 3) return Status::Corruption("expected Name[:MD5] or Database:Line:Name");
    std::string_view name = f.size() == 3 ? f[2] : f[0];
    if (name.empty()) return Status::Corruption("empty signature name");
    names.emplace_back(name);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  for (auto& n : names) out->ignored.insert(std::move(n));
  return Status::Ok();
}

}  // namespace vigil::sig
