// SIS installation packages of EPOC / Symbian OS before 9.1, parsed by hand
// after Alexander Thoukydides' public "SIS File Format" description. All
// numbers are little-endian.
//
//   0x00 UID1, UID2 (0x1000006D: EPOC release 3-5, 0x10003A12: release 6),
//        UID3 (0x10000419), UID4
//   0x10 u16 checksum, languages, files, requisites, install language,
//        install files; u32 install drive, installer version;
//        u16 options (0x0008: files stored, not compressed), type, major,
//        minor; u32 variant
//   0x30 u32 pointers: languages, files, requisites, certificates, name
//
// The files pointer leads to `files` records one after another, each a u32
// record type then its fields:
//   0 simple file, 1 one file per language: u32 file type, details, source
//     name length and pointer, destination name length and pointer, then
//     u32 lengths (one, or one per language), the same number of u32
//     pointers, and in release 6 as many original (uncompressed) lengths
//     and a u32 MIME type length and pointer;
//   2 options: u32 count, count x languages x (u32 length, u32 pointer),
//     16 bytes of selected options;
//   3 if, 4 else-if: u32 size, then an expression of that size;
//   5 else, 6 end-if: nothing.
// In release 6 each file's data is a zlib stream unless the options say
// otherwise; earlier releases store files as they are. Each file is a member,
// named by its destination path.
#include <string>

#include "unpack/inflate.h"
#include "unpack/unpack.h"

namespace vigil::unpack {
namespace {

constexpr uint32_t kUid2Epoc5 = 0x1000006D;
constexpr uint32_t kUid2Epoc6 = 0x10003A12;
constexpr uint32_t kUid3 = 0x10000419;
constexpr uint16_t kOptionNoCompress = 0x0008;
// A record of a language-dependent list larger than this is not believed.
constexpr uint32_t kMaxLanguages = 256;

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool U16(size_t off, uint32_t* v) const {
    if (off > d_.size() || d_.size() - off < 2) return false;
    *v = B(off) | B(off + 1) << 8;
    return true;
  }
  bool U32(size_t off, uint32_t* v) const {
    if (off > d_.size() || d_.size() - off < 4) return false;
    *v = B(off) | B(off + 1) << 8 | B(off + 2) << 16 | B(off + 3) << 24;
    return true;
  }
  // The bytes [ptr, ptr+len) if they are all inside the file.
  bool Range(uint32_t ptr, uint32_t len, std::string_view* out) const {
    if (ptr > d_.size() || d_.size() - ptr < len) return false;
    *out = d_.substr(ptr, len);
    return true;
  }

 private:
  uint32_t B(size_t i) const { return static_cast<uint8_t>(d_[i]); }
  std::string_view d_;
};

// A UTF-16LE name to something printable: ASCII kept, the rest as '?'.
std::string Utf16Name(std::string_view raw) {
  std::string out;
  for (size_t i = 0; i + 1 < raw.size(); i += 2) {
    unsigned c = static_cast<uint8_t>(raw[i]) | static_cast<uint8_t>(raw[i + 1]) << 8;
    if (c == 0) break;
    out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
  }
  return out;
}

}  // namespace

bool LooksLikeSis(std::string_view d) {
  Reader r(d);
  uint32_t uid2 = 0, uid3 = 0;
  return r.U32(4, &uid2) && r.U32(8, &uid3) && uid3 == kUid3 && (uid2 == kUid2Epoc5 || uid2 == kUid2Epoc6);
}

Status ReadSis(std::string_view data, Context& ctx) {
  if (!LooksLikeSis(data)) return Status::Ok();
  Reader r(data);
  uint32_t uid2 = 0, languages = 0, files = 0, options = 0, files_ptr = 0;
  if (!r.U32(4, &uid2) || !r.U16(0x12, &languages) || !r.U16(0x14, &files) || !r.U16(0x24, &options) ||
      !r.U32(0x34, &files_ptr)) {
    ctx.sink.Warn("sis: truncated header");
    return Status::Ok();
  }
  const bool release6 = uid2 == kUid2Epoc6;
  const bool compressed = release6 && !(options & kOptionNoCompress);
  if (languages == 0 || languages > kMaxLanguages) {
    ctx.sink.Warn("sis: implausible number of languages (" + std::to_string(languages) + ")");
    return Status::Ok();
  }
  size_t p = files_ptr;
  int index = 0;
  for (uint32_t rec = 0; rec < files && !ctx.Stopped(); ++rec) {
    uint32_t type = 0;
    if (!r.U32(p, &type)) {
      ctx.sink.Warn("sis: file record " + std::to_string(rec) + " runs past the end");
      break;
    }
    p += 4;
    if (type == 5 || type == 6) continue;  // else, end-if
    if (type == 3 || type == 4) {          // if, else-if: a sized expression
      uint32_t size = 0;
      if (!r.U32(p, &size) || size > data.size()) {
        ctx.sink.Warn("sis: bad condition record " + std::to_string(rec));
        break;
      }
      p += 4 + static_cast<size_t>(size);
      continue;
    }
    if (type == 2) {  // options
      uint32_t count = 0;
      if (!r.U32(p, &count) || count > kMaxLanguages) {
        ctx.sink.Warn("sis: bad options record " + std::to_string(rec));
        break;
      }
      p += 4 + static_cast<size_t>(count) * languages * 8 + 16;
      continue;
    }
    if (type != 0 && type != 1) {
      ctx.sink.Warn("sis: unknown file record type " + std::to_string(type));
      break;
    }
    uint32_t dst_len = 0, dst_ptr = 0;
    const uint32_t n = type == 1 ? languages : 1;
    if (!r.U32(p + 16, &dst_len) || !r.U32(p + 20, &dst_ptr)) {
      ctx.sink.Warn("sis: file record " + std::to_string(rec) + " runs past the end");
      break;
    }
    std::string_view dst_raw;
    std::string dest = r.Range(dst_ptr, dst_len, &dst_raw) ? Utf16Name(dst_raw) : std::string();
    const size_t lengths = p + 24, pointers = lengths + 4 * n, originals = pointers + 4 * n;
    p = originals + (release6 ? 4 * n + 8 : 0);
    for (uint32_t k = 0; k < n && !ctx.Stopped(); ++k) {
      uint32_t len = 0, ptr = 0, orig = UINT32_MAX;
      std::string_view stored;
      if (!r.U32(lengths + 4 * k, &len) || !r.U32(pointers + 4 * k, &ptr) || !r.Range(ptr, len, &stored)) {
        ctx.sink.Warn("sis: file " + std::to_string(index + 1) + " lies outside the package");
        continue;
      }
      if (release6) r.U32(originals + 4 * k, &orig);
      ++index;
      std::string name = dest.empty() ? "file-" + std::to_string(index) : dest;
      if (n > 1) name += "#" + std::to_string(k + 1);
      if (!compressed) {
        if (!ctx.Admit(stored.size())) {
          if (ctx.budget.exhausted()) return Status::Ok();
          continue;
        }
        if (!ctx.sink.Member(name, stored, MemberKind::kFile)) return Status::Ok();
        continue;
      }
      // zlib: a 2-byte header (deflate, check bits), raw deflate, Adler-32.
      if (stored.size() < 2 || (static_cast<uint8_t>(stored[0]) & 0x0F) != 8 ||
          ((static_cast<uint8_t>(stored[0]) << 8) | static_cast<uint8_t>(stored[1])) % 31 != 0) {
        ctx.sink.Warn("sis: " + name + " is not a zlib stream");
        continue;
      }
      if (!ctx.Admit(orig)) {
        if (ctx.budget.exhausted()) return Status::Ok();
        continue;
      }
      MemberBuffer out(ctx.budget);
      LimitHit hit = LimitHit::kNone;
      InflateResult res = Inflate(stored.substr(2), /*deflate64=*/false, &out, &hit);
      if (res == InflateResult::kOverLimit) {
        ctx.sink.LimitExceeded(hit);
        continue;
      }
      if (res != InflateResult::kDone) ctx.sink.Warn("sis: " + name + " is truncated or corrupt; scanning what decoded");
      if (!ctx.sink.Member(name, out.view(), MemberKind::kFile)) return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace vigil::unpack
