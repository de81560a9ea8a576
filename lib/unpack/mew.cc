// MEW-packed PE files (MEW 11 SE, 32-bit Windows), unpacked into a PE image.
// Written from the public descriptions of the MEW layout and of its
// decompressors in ClamAV's libclamav (pe.c's MEW detection, mew.c,
// packlibs.c) and of the aPLib compression format (Joergen Ibsen's aPLib
// documentation and the open depackers written from it); checked on
// clamav-testfiles' clam-mew.exe, whose unpacked image is byte for byte the
// one clamscan rebuilds.
//
// Layout. The first of two neighbouring sections holds nothing on disk (the
// space the program is unpacked into, at address A); the second holds the
// packed data. The entry point is a "jmp rel32" (E9) to the loader at file
// offset 0x154 (0x158 when MEW's Win9x option was off) inside the headers;
// the loader starts with "mov esi, imm32" (BE), imm32 the address of a
// record in the second section: a u32 (address of the loader's helpers),
// the original entry point, the address of the first block's destination,
// then the blocks. Each block is an aPLib stream unpacked to its
// destination, followed by a u32: the next block's destination address, or
// 0 after the last. When the loader carries an LZMA stage (its byte at +0x7B
// is a call, E8), the aPLib blocks only unpack that stage and the rest of
// the program follows the terminating 0 as LZMA streams (below).
//
// aPLib streams are decoded by aplib.h.
//
// LZMA stage: [u32 length to fix up, when the stage's code at +8 is a
// "push eax" (50)], a u32 scratch address (the decoder's probability
// tables; not needed here), then streams: u32 unpacked length, u32
// destination address, u32 packed length, one byte not used, and the packed
// bytes (standard LZMA with lc=4 lp=0 pb=2, no end marker, its 5-byte range
// coder start included). Without the push, streams follow one another up to
// a 0 length; with it there is one stream, after which every E8/E9 byte's
// following u32 is stored big-endian and relative to the byte after the
// opcode's position: it becomes little-endian, minus that position.
// MEW's LZMA decoder is its own code but computes standard LZMA; the
// streams are decoded with liblzma (lzma_like.h).
//
// The unpacked image (from A on) goes behind made-up PE headers: one
// section at A with the whole image, the original entry point. The result
// is one member ("mew-unpacked"), looked inside like any PE (clam-mew.exe's
// image carries clam.exe in a ZIP archive, found as a ZIP-SFX, pe.cc).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "match/exe.h"
#include "unpack/aplib.h"
#include "unpack/lzma_like.h"
#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

using lzma_like::kHeaders;
using match::PeSection;
using match::ReadPeSections;

bool Has(std::string_view d, size_t off, size_t n) { return off <= d.size() && d.size() - off >= n; }

// Blocks per file: a hostile chain of tiny blocks must not run on and on.
constexpr int kMaxBlocks = 4096;
// LZMA streams per file, for the same reason.
constexpr int kMaxLzmaStreams = 256;

// The unpacked image: the space from the empty section's address on, as
// far as blocks were written, at most `limit` bytes.
class Image {
 public:
  explicit Image(size_t limit) : limit_(limit) {}
  // Puts `bytes` at offset `at`; false when they would pass the limit.
  bool Put(uint64_t at, std::string_view bytes) {
    if (at > limit_ || bytes.size() > limit_ - at) return false;
    size_t end = static_cast<size_t>(at) + bytes.size();
    if (end > data_.size()) data_.resize(end, '\0');
    std::memcpy(data_.data() + at, bytes.data(), bytes.size());
    return true;
  }
  std::string& data() { return data_; }

 private:
  size_t limit_;
  std::string data_;
};

// What a MEW file says about itself.
struct MewLayout {
  uint32_t image_base = 0, image_rva = 0;  // the empty section's address (A)
  uint64_t image_size = 0;                 // both sections' virtual sizes
  std::string_view packed;                 // the second section's raw data
  uint32_t record = 0;                     // the loader's record, in `packed`
  uint32_t loader = 0;                     // file offset of the loader
  bool lzma = false;
  uint32_t lzma_code = 0;                  // offset of the LZMA stage in the image
};

// Whether `data` is a MEW 11 file; quiet when not.
bool FindMew(std::string_view data, MewLayout* m) {
  // MEW overlaps its PE header with the DOS header ("PE" at 0x0C), which
  // PeAt() does not take for a PE file.
  if (!Has(data, 0, 0x40) || data[0] != 'M' || data[1] != 'Z') return false;
  const uint32_t pe = Le32(data, 0x3C);
  if (pe > 0x10000) return false;
  std::vector<PeSection> secs;
  if (!ReadPeSections(data, pe, &secs) || secs.size() < 2) return false;
  if (!Has(data, pe + 24, 0x20) || Le16(data, pe + 20) < 0x20) return false;
  const uint32_t ep = Le32(data, pe + 24 + 16);
  m->image_base = Le32(data, pe + 24 + 28);
  size_t i = 0;
  while (i + 1 < secs.size() &&
         !(secs[i].rsize == 0 && secs[i].vsize != 0 && secs[i + 1].rsize != 0 && secs[i + 1].vsize != 0))
    ++i;
  if (i + 1 >= secs.size()) return false;
  const PeSection& empty = secs[i];
  const PeSection& body = secs[i + 1];
  // The entry point: a jmp to the loader in the headers.
  uint64_t ep_off = UINT64_MAX;
  for (const PeSection& s : secs)
    if (ep >= s.va && ep - s.va < s.rsize) ep_off = static_cast<uint64_t>(s.raw) + (ep - s.va);
  if (ep_off == UINT64_MAX || !Has(data, ep_off, 5) || static_cast<uint8_t>(data[ep_off]) != 0xE9) return false;
  const uint32_t loader = ep + Le32(data, ep_off + 1) + 5;
  if (loader != 0x154 && loader != 0x158) return false;
  if (!Has(data, loader, 0xB0) || static_cast<uint8_t>(data[loader]) != 0xBE) return false;
  const uint32_t esi = Le32(data, loader + 1) - m->image_base;
  if (esi <= body.va || body.raw >= data.size()) return false;
  const uint32_t record = esi - body.va;
  const size_t raw_len = std::min<size_t>(body.rsize, data.size() - body.raw);
  if (record > raw_len || raw_len - record < 12) return false;
  m->image_rva = empty.va;
  m->image_size = static_cast<uint64_t>(empty.vsize) + body.vsize;
  m->packed = data.substr(body.raw, raw_len);
  m->record = record;
  m->loader = loader;
  // A call at +0x7B: the LZMA stage, its code at (call target) - A in the image.
  if (static_cast<uint8_t>(data[loader + 0x7B]) == 0xE8) {
    m->lzma = true;
    m->lzma_code = Le32(data, loader + 0x7C) + loader + 0x80 - empty.va;
  }
  return true;
}

// MEW's call fix-up after its single-stream LZMA stage.
void FixCalls(std::string* image, uint64_t at, uint32_t len) {
  if (len < 5 || at > image->size() || image->size() - at < len) return;
  char* p = image->data() + at;
  for (uint32_t k = 0; k < len - 5; ++k) {
    uint8_t op = static_cast<uint8_t>(p[k]);
    if (op != 0xE8 && op != 0xE9) continue;
    const auto* q = reinterpret_cast<const uint8_t*>(p + k + 1);
    uint32_t be = static_cast<uint32_t>(q[0]) << 24 | q[1] << 16 | q[2] << 8 | q[3];
    uint32_t v = be - k - 1;
    for (int j = 0; j < 4; ++j) p[k + 1 + j] = static_cast<char>(v >> (8 * j));
    k += 4;
  }
}

// The LZMA stage, from packed[pos] on. Empty when all went well, else what
// went wrong.
std::string LzmaStage(const MewLayout& m, size_t pos, size_t limit, Image* image) {
  std::string_view in = m.packed;
  const bool special = m.lzma_code < image->data().size() && image->data().size() - m.lzma_code > 8 &&
                       static_cast<uint8_t>(image->data()[m.lzma_code + 8]) == 0x50;
  uint32_t fix_len = 0;
  if (special) {
    if (!Has(in, pos, 4)) return "truncated";
    fix_len = Le32(in, pos);
    pos += 4;
  }
  if (!Has(in, pos, 4)) return "truncated";
  pos += 4;  // the decoder's scratch tables
  const uint32_t va0 = m.image_base + m.image_rva;
  std::string out;
  for (int n = 0; n < kMaxLzmaStreams; ++n) {
    if (!Has(in, pos, 4)) return "truncated";
    const uint32_t want = Le32(in, pos);
    if (want == 0 && !special) return "";
    if (!Has(in, pos, 13)) return "truncated";
    const uint64_t at = static_cast<uint32_t>(Le32(in, pos + 4) - va0);
    const uint32_t c_len = Le32(in, pos + 8);
    pos += 13;
    if (at > limit || want > limit - at) return "an LZMA stream lies outside the image";
    std::string_view stream = in.substr(pos, std::min<size_t>(c_len, in.size() - pos));
    lzma_like::Result r = lzma_like::RawLzma(stream, 4, 0, 2, want, &out);
    image->Put(at, out);
    if (r != lzma_like::Result::kDone) return "an LZMA stream is truncated or corrupt";
    if (special) {
      FixCalls(&image->data(), at, fix_len);
      return "";
    }
    if (c_len > in.size() - pos) return "truncated";
    pos += c_len;
  }
  return "too many LZMA streams";
}

}  // namespace

Status ReadMew(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  MewLayout m;
  if (!FindMew(data, &m)) return Status::Ok();
  if (!ctx.Admit(m.image_size + kHeaders)) {
    if (ctx.budget.exhausted()) *stop = true;
    return Status::Ok();
  }
  const uint64_t cap = ctx.budget.MemberCap();
  const size_t limit = static_cast<size_t>(std::min<uint64_t>(m.image_size, cap > kHeaders ? cap - kHeaders : 0));
  std::string_view in = m.packed;
  const uint32_t va0 = m.image_base + m.image_rva;
  const uint32_t entry = Le32(in, m.record + 4);
  uint64_t dest = static_cast<uint32_t>(Le32(in, m.record + 8) - va0);
  size_t pos = m.record + 12;
  Image image(limit);
  std::string block, problem;
  bool over = false;
  for (int n = 0;; ++n) {
    if (n == kMaxBlocks) {
      problem = "too many blocks";
      break;
    }
    if (dest >= m.image_size) {
      problem = "a block's destination lies outside the image";
      break;
    }
    const size_t room = dest < limit ? limit - static_cast<size_t>(dest) : 0;
    block.clear();
    const aplib::Result r = aplib::Unpack(in, &pos, room, block);
    image.Put(dest, block);
    if (r == aplib::Result::kOverLimit) {
      over = true;
      break;
    }
    if (r != aplib::Result::kDone) {
      problem = r == aplib::Result::kTruncated ? "the packed data is truncated" : "the packed data is corrupt";
      break;
    }
    if (!Has(in, pos, 4)) {
      problem = "the packed data is truncated";
      break;
    }
    const uint32_t next = Le32(in, pos);
    pos += 4;
    if (next == 0) {
      if (m.lzma) {
        problem = LzmaStage(m, pos, limit, &image);
        if (!problem.empty()) problem = "LZMA stage: " + problem;
      }
      break;
    }
    dest = static_cast<uint32_t>(next - va0);
  }
  if (over) {
    if (limit < m.image_size) {
      ctx.sink.LimitExceeded(ctx.budget.Grow(m.image_size + kHeaders));
      return Status::Ok();
    }
    problem = "a block unpacks past the end of the image";
  }
  if (image.data().empty()) {
    ctx.sink.Warn("mew: " + problem + "; nothing unpacked");
    return Status::Ok();
  }
  if (!problem.empty()) ctx.sink.Warn("mew: " + problem + "; scanning what unpacked");
  // The member: made-up headers, then the image.
  MemberBuffer file(ctx.budget);
  LimitHit hit = LimitHit::kNone;
  std::string headers =
      lzma_like::OneSectionHeaders(".mew\0\0\0\0", m.image_base, m.image_rva, entry - m.image_base,
                                   image.data().size());
  image.data().resize((image.data().size() + 0x1FF) & ~static_cast<size_t>(0x1FF), '\0');
  if (!file.Append(headers.data(), headers.size(), &hit) ||
      !file.Append(image.data().data(), image.data().size(), &hit)) {
    ctx.sink.LimitExceeded(hit);
    return Status::Ok();
  }
  if (!ctx.sink.Member("mew-unpacked", file.view(), MemberKind::kFile)) *stop = true;
  return Status::Ok();
}

}  // namespace vigil::unpack
