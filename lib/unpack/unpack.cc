#include "unpack/unpack.h"

#include <algorithm>
#include <cstring>

namespace vigil::unpack {

char* MemberBuffer::Extend(size_t want, size_t* got, LimitHit* hit) {
  uint64_t cap = budget_.MemberCap();
  if (data_.size() > cap) {
    *hit = budget_.Grow(data_.size());
    *got = 0;
    return nullptr;
  }
  uint64_t allowed = cap - data_.size() + 1;  // one byte more reveals overflow
  *got = static_cast<size_t>(std::min<uint64_t>(want, allowed));
  size_t old = data_.size();
  data_.resize(old + *got);
  return data_.data() + old;
}

bool MemberBuffer::Append(const void* p, size_t n, LimitHit* hit) {
  uint64_t cap = budget_.MemberCap();
  if (data_.size() + n > cap) {
    *hit = budget_.Grow(data_.size() + n);
    return false;
  }
  data_.append(static_cast<const char*>(p), n);
  return true;
}

Status Unpack(FileType type, std::string_view data, MemberKind kind, Context& ctx) {
  if (IsLibarchiveType(type)) return ReadArchive(type, data, ctx);
  switch (type) {
    case FileType::kPe: {
      if (kind == MemberKind::kEmbedded) return Status::Ok();
      bool stop = false;
      VIGIL_RETURN_IF_ERROR(ReadUpx(data, ctx, &stop));
      if (stop || ctx.Stopped()) return Status::Ok();
      VIGIL_RETURN_IF_ERROR(ReadInstallShieldOverlay(data, ctx, &stop));
      if (stop || ctx.Stopped()) return Status::Ok();
      VIGIL_RETURN_IF_ERROR(ReadNsis(data, ctx, &stop));
      if (stop || ctx.Stopped()) return Status::Ok();
      VIGIL_RETURN_IF_ERROR(ReadAutoIt(data, ctx, &stop));
      if (stop || ctx.Stopped()) return Status::Ok();
      return ReadEmbeddedPe(data, ctx);
    }
    case FileType::kMail: return ReadMail(data, ctx);
    case FileType::kBinhex: return ReadBinhex(data, ctx);
    case FileType::kHtml: return ReadHtml(data, ctx);
    case FileType::kChm: return ReadChm(data, ctx);
    case FileType::kSzdd: return ReadSzdd(data, ctx);
    case FileType::kKwaj: return ReadKwaj(data, ctx);
    case FileType::kOle2: return ReadOle2(data, ctx);
    case FileType::kPdf: return ReadPdf(data, ctx);
    case FileType::kTnef: return ReadTnef(data, ctx);
    case FileType::kRtf: return ReadRtf(data, ctx);
    case FileType::kSis: return ReadSis(data, ctx);
    case FileType::kArj: return ReadArj(data, ctx);
    default:
      return Status::Ok();
  }
}

}  // namespace vigil::unpack
