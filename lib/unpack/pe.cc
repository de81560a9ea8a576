// Executables that carry other executables: a PE file found inside the
// bytes of a PE file (droppers, self-extractors, unpacked images) is scanned
// as a file of its own, from its "MZ" to the end of the parent — the same
// extent clamscan scans, so whole-file hash signatures of a payload that was
// appended last match. And a ZIP archive inside a PE file (a self-extracting
// archive, or the payload of an unpacked image): clamscan's "ZIP-SFX".
#include <cstring>
#include <string>

#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {


// Embedded executables searched per parent; a hostile file full of "MZ"
// headers must not multiply the work without bound.
constexpr int kMaxEmbedded = 64;

}  // namespace

bool PeAt(std::string_view data, size_t off) {
  if (off > data.size() || data.size() - off < 0x40) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data() + off);
  size_t n = data.size() - off;
  if (p[0] != 'M' || p[1] != 'Z') return false;
  uint32_t pe = Le32(p + 0x3C);
  if (pe < 0x40 || pe > 0x10000 || pe > n || n - pe < 24) return false;
  if (std::memcmp(p + pe, "PE\0\0", 4) != 0) return false;
  uint16_t sections = Le16(p + pe + 6);
  return sections >= 1 && sections <= 96;
}

// End of the last section's raw data: where an overlay starts; 0 if the
// headers cannot be read.
size_t PeOverlayStart(std::string_view data) {
  if (!PeAt(data, 0)) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  uint32_t pe = Le32(p + 0x3C);
  uint16_t sections = Le16(p + pe + 6);
  uint16_t optional = Le16(p + pe + 20);
  size_t table = static_cast<size_t>(pe) + 24 + optional;
  size_t end = 0;
  for (uint16_t i = 0; i < sections; ++i) {
    size_t s = table + 40u * i;
    if (s > n || n - s < 40) return 0;
    uint64_t raw_end = static_cast<uint64_t>(Le32(p + s + 20)) + Le32(p + s + 16);
    if (raw_end > end) end = static_cast<size_t>(raw_end);
  }
  return end;
}

Status ReadSfxZip(std::string_view data, Context& ctx) {
  const size_t at = data.find(std::string_view("PK\3\4", 4), 1);
  if (at == std::string_view::npos) return Status::Ok();
  // To the end of the end-of-central-directory record after it (and its
  // comment), or to the end of the parent.
  size_t end = data.size();
  const size_t eocd = data.find(std::string_view("PK\5\6", 4), at);
  if (eocd != std::string_view::npos && data.size() - eocd >= 22) {
    const size_t with_comment = eocd + 22 + Le16(reinterpret_cast<const uint8_t*>(data.data()) + eocd + 20);
    if (with_comment <= data.size()) end = with_comment;
  }
  if (ctx.Stopped() || !ctx.Admit(end - at)) return Status::Ok();
  ctx.sink.Member("sfx-zip@" + std::to_string(at), data.substr(at, end - at), MemberKind::kEmbedded);
  return Status::Ok();
}

Status ReadEmbeddedPe(std::string_view data, Context& ctx) {
  int found = 0;
  size_t pos = 1;
  while (found < kMaxEmbedded && pos + 0x40 <= data.size()) {
    const void* hit = std::memchr(data.data() + pos, 'M', data.size() - pos);
    if (!hit) break;
    pos = static_cast<size_t>(static_cast<const char*>(hit) - data.data());
    if (PeAt(data, pos)) {
      ++found;
      if (ctx.Stopped() || !ctx.Admit(data.size() - pos)) return Status::Ok();
      std::string name = "embedded-pe@" + std::to_string(pos);
      if (!ctx.sink.Member(name, data.substr(pos), MemberKind::kEmbedded)) return Status::Ok();
    }
    ++pos;
  }
  return Status::Ok();
}

}  // namespace vigil::unpack
