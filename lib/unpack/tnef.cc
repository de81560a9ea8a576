// TNEF (winmail.dat, application/ms-tnef), parsed by hand: a u32 signature
// 0x223E9F78, a u16 key, then attributes — u8 level, u32 id, u32 length, the
// data, u16 checksum. Each attachment's data (attAttachData) is a member,
// named by the attachment's title (attAttachTitle) when one precedes it.
//
// libytnef was the first choice (DESIGN.md), but it rejects files whose
// checksums are wrong — as in clamav-testfiles' clam.tnef — and prints its
// errors on standard output, which would corrupt `vigil scan --json`.
#include <string>

#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

constexpr uint32_t kSignature = 0x223E9F78;
constexpr uint32_t kAttachTitle = 0x00018010;  // string
constexpr uint32_t kAttachData = 0x0006800F;   // bytes
constexpr uint32_t kAttachRendData = 0x00069002;  // starts a new attachment
constexpr uint8_t kLevelAttachment = 2;


}  // namespace

Status ReadTnef(std::string_view data, Context& ctx) {
  if (data.size() < 6 || Le32(data, 0) != kSignature) return Status::Ok();
  size_t p = 6;
  std::string title;
  int index = 0;
  while (p < data.size() && !ctx.Stopped()) {
    if (data.size() - p < 9) {
      ctx.sink.Warn("tnef: truncated attribute header at " + std::to_string(p));
      break;
    }
    auto level = static_cast<uint8_t>(data[p]);
    uint32_t id = Le32(data, p + 1);
    uint32_t len = Le32(data, p + 5);
    p += 9;
    if (len > data.size() - p) {
      ctx.sink.Warn("tnef: attribute " + std::to_string(id) + " runs past the end; scanning what is there");
      len = static_cast<uint32_t>(data.size() - p);
    }
    std::string_view value = data.substr(p, len);
    p += len + 2;  // the checksum is not checked: a wrong one hides nothing
    if (level != kLevelAttachment) continue;
    if (id == kAttachRendData) {
      title.clear();
    } else if (id == kAttachTitle) {
      title.assign(value.substr(0, value.find('\0')));
    } else if (id == kAttachData && !value.empty()) {
      ++index;
      std::string name = title.empty() ? "attachment-" + std::to_string(index) : title;
      if (!ctx.Admit(value.size())) {
        if (ctx.budget.exhausted()) break;
        continue;
      }
      if (!ctx.sink.Member(name, value, MemberKind::kFile)) break;
    }
  }
  return Status::Ok();
}

}  // namespace vigil::unpack
