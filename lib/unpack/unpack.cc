#include "unpack/unpack.h"

#include <algorithm>
#include <cstring>
#include <utility>

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

namespace {

// Passes everything on, counting the members.
class CountingSink : public Sink {
 public:
  explicit CountingSink(Sink& inner) : inner_(inner) {}
  bool Member(std::string_view name, std::string_view data, MemberKind kind) override {
    ++members;
    return inner_.Member(name, data, kind);
  }
  void LimitExceeded(LimitHit hit) override { inner_.LimitExceeded(hit); }
  void Encrypted(std::string_view format) override { inner_.Encrypted(format); }
  void Warn(std::string message) override { inner_.Warn(std::move(message)); }

  int members = 0;

 private:
  Sink& inner_;
};

}  // namespace

Status Unpack(FileType type, std::string_view data, MemberKind kind, Context& ctx) {
  if (IsLibarchiveType(type)) return ReadArchive(type, data, ctx);
  switch (type) {
    case FileType::kPe: {
      if (kind == MemberKind::kEmbedded) return Status::Ok();
      using Reader = Status (*)(std::string_view, Context&, bool*);
      // One packer made the file: once one has unpacked it, the others are
      // not tried. yoda's Crypter first: the file it wraps may be packed too
      // (clam-yc.exe is UPX inside), and its section names then fool UPX's
      // reader into trying the still encrypted data.
      CountingSink counting(ctx.sink);
      Context packed{ctx.budget, counting, ctx.depth};
      for (Reader read : {ReadYc, ReadPespin, ReadUpx, ReadAspack, ReadMew, ReadPetite, ReadUpack, ReadWwpack}) {
        bool stop = false;
        VIGIL_RETURN_IF_ERROR(read(data, packed, &stop));
        if (stop || ctx.Stopped()) return Status::Ok();
        if (counting.members > 0) break;
      }
      // Data appended to the program: any of these.
      for (Reader read : {ReadInstallShieldOverlay, ReadNsis, ReadAutoIt}) {
        bool stop = false;
        VIGIL_RETURN_IF_ERROR(read(data, ctx, &stop));
        if (stop || ctx.Stopped()) return Status::Ok();
      }
      VIGIL_RETURN_IF_ERROR(ReadSfxZip(data, ctx));
      if (ctx.Stopped()) return Status::Ok();
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
