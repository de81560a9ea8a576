// Upack-packed PE files (Upack 0.39 and the related "0151477" build, three
// sections), unpacked into a PE image. Written from the public description
// of Upack's loader and LZMA variant in ClamAV's libclamav (pe.c's Upack
// detection, upack.c) and from the LZMA SDK's description of LZMA; checked
// on clamav-testfiles' clam-upack.exe, whose unpacked image is byte for
// byte the one clamscan rebuilds.
//
// Layout. Upack writes its PE header at 0x10 with an optional header of
// 0x148 bytes and three sections whose raw data overlap the headers. In
// memory (the "image", from the first section's address A on, as long as
// the three virtual sizes together) the file's first bytes (up to the first
// section's raw end) appear at A and again at the third section's address,
// and the second section's raw data at its own address. The entry point
// (file offset, the first section's raw offset taken down to 0x200) holds
// "mov esi, imm32; lodsd; push eax": esi points at the original entry point
// (u32). The loader is then found by following its jumps, all at fixed
// distances from each other:
//   L = entry + 0xC + (the byte at entry + 0xB), a short jmp at entry + 0xA;
//   a short jmp at L + 0x1A leads 0xA bytes past its target to
//   "mov ch, n" (B5), and 8 bytes after its immediate a near jmp (E9) to
//   the decoder H = its rel32 + L + (the byte at L + 0x1B) + 0x1C + 0x18;
//   at H + 42 a jecxz (E3) (0.39: then a near jmp 8 bytes past the jecxz
//   target, "shr ebp, n" (C1 ED n) at H + 24), else at H + 45 (0151477: 7
//   bytes, at H + 26); the near jmp's target + 27 is a "cmp al, v": v marks
//   the calls to fix (below). n is the literal context shift: lc = 8 - n.
//   At L + 7, "mov esi, imm32" (BE) points at a table of 0x27 u32 copied
//   to the decoder's state, the last one being the address of the LZMA
//   data; the u32s after it give at +4 the number of calls to fix, at +0xC
//   the address the output starts and at +0x34 the address it ends.
// The data is LZMA with lc = 8 - n, lp = 0, pb = 0, its range coder read
// from the given address on (the LZMA SDK's leading zero byte omitted), and
// no end marker: decoding stops at the end address. Upack's decoder is its
// own (32-bit probability slots, the range coder read as big-endian words)
// but computes standard LZMA, so it is decoded with liblzma (lzma_like.h).
// Calls: from the output's start, each E8/E9 followed by the byte v has the
// three bytes after v stored big-endian and absolute: the four bytes become
// that number less the position of the byte after them, little-endian,
// for the given number of calls.
//
// The image up to the output's end goes behind made-up PE headers (one
// section at A, the original entry point): one member ("upack-unpacked"),
// looked inside like any PE (clam-upack.exe's image carries clam.exe in a
// ZIP archive, found as a ZIP-SFX, pe.cc). The two-section Upack builds (0.39 "2s",
// 1.1/1.2) and the "0297729" build are not unpacked yet.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "match/exe.h"
#include "unpack/lzma_like.h"
#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

using lzma_like::kHeaders;
using match::PeSection;
using match::ReadPeSections;

bool Has(std::string_view d, uint64_t off, uint64_t n) { return off <= d.size() && d.size() - off >= n; }

// A byte of the image, or -1 outside it.
int At(std::string_view d, uint64_t off) { return off < d.size() ? static_cast<uint8_t>(d[off]) : -1; }

// What the loader says (offsets in the image).
struct Loader {
  uint32_t oep = 0;        // original entry point (address less the image base)
  uint32_t lc = 0;         // literal context bits
  uint8_t call_mark = 0;   // v: the byte after E8/E9 of calls to fix
  uint32_t calls = 0;      // how many
  uint64_t data = 0;       // LZMA data
  uint64_t start = 0, end = 0;  // output
};

// Follows the loader in `img` from the entry point at `ep`; "" when it was
// understood, else why not.
std::string ReadLoader(std::string_view img, uint32_t ep, uint32_t image_va, uint32_t base, Loader* l) {
  if (!Has(img, ep, 5)) return "the entry point lies outside the image";
  const uint32_t rec = Le32(img, ep + 1) - image_va;
  if (!Has(img, rec, 12)) return "the entry point's record lies outside the image";
  l->oep = Le32(img, rec) - base;
  if (At(img, uint64_t{ep} + 0xA) != 0xEB) return "no jump at the entry point";
  const uint64_t loader = uint64_t{ep} + 0xC + static_cast<uint64_t>(At(img, uint64_t{ep} + 0xB));
  uint64_t a = loader + 0x1A;
  if (At(img, a) != 0xEB || At(img, a + 1) < 0) return "no jump in the loader";
  a = a + 2 + static_cast<uint64_t>(At(img, a + 1)) + 0xA;
  if (At(img, a) != 0xB5 || At(img, a + 9) != 0xE9 || !Has(img, a + 10, 4) || At(img, loader + 0x1B) < 0)
    return "the loader's decoder is not where Upack 0.39 has it";
  const uint64_t hop = static_cast<uint64_t>(At(img, loader + 0x1B));
  const uint64_t dec = static_cast<uint32_t>(Le32(img, a + 10) + loader + hop + 0x1C + 0x18);
  uint64_t jecxz;
  int jmp_at, shr_at;
  if (At(img, dec + 42) == 0xE3) {
    jecxz = dec + 43, jmp_at = 8, shr_at = 24;  // 0.39
  } else if (At(img, dec + 45) == 0xE3) {
    jecxz = dec + 46, jmp_at = 7, shr_at = 26;  // 0151477
  } else {
    return "an unknown Upack decoder";
  }
  if (At(img, jecxz) < 0) return "an unknown Upack decoder";
  const uint64_t after = jecxz + static_cast<uint64_t>(At(img, jecxz)) + 1;
  if (At(img, after + jmp_at) != 0xE9 || !Has(img, after + jmp_at + 1, 4)) return "an unknown Upack decoder";
  const uint64_t cmp = static_cast<uint32_t>(after + Le32(img, after + jmp_at + 1) + jmp_at + 5 + 27);
  if (At(img, cmp) < 0) return "the call fix-up lies outside the image";
  l->call_mark = static_cast<uint8_t>(At(img, cmp));
  if (At(img, dec + shr_at) != 0xC1 || At(img, dec + shr_at + 1) != 0xED || At(img, dec + shr_at + 2) < 0)
    return "no literal context in the decoder";
  const int shift = At(img, dec + shr_at + 2);
  if (shift < 2 || shift > 8) return "a literal context out of range";
  l->lc = static_cast<uint32_t>(8 - shift);
  if (At(img, loader + 7) != 0xBE || !Has(img, loader + 8, 4)) return "no decoder table in the loader";
  const uint64_t table = static_cast<uint32_t>(Le32(img, loader + 8) - image_va);
  if (!Has(img, table, 0x9C + 0x38)) return "the decoder table lies outside the image";
  const uint64_t more = table + 0x9C;
  l->data = static_cast<uint32_t>(Le32(img, table + 0x98) - image_va);
  l->calls = Le32(img, more + 4);
  l->start = static_cast<uint32_t>(Le32(img, more + 0xC) - image_va);
  l->end = static_cast<uint32_t>(Le32(img, more + 0x34) - image_va);
  if (l->start > l->end || l->end > img.size() || l->data >= img.size())
    return "the output or data lies outside the image";
  return "";
}

// Undoes the call transform on `out` (see the top).
void FixCalls(std::string* out, uint8_t mark, uint32_t calls) {
  size_t k = 0;
  while (calls > 0 && k + 5 <= out->size()) {
    const auto op = static_cast<uint8_t>((*out)[k]);
    ++k;
    if (op != 0xE8 && op != 0xE9) continue;
    if (static_cast<uint8_t>((*out)[k]) != mark) continue;
    const auto* p = reinterpret_cast<const uint8_t*>(out->data() + k);
    uint32_t v = (static_cast<uint32_t>(p[1]) << 16 | p[2] << 8 | p[3]) - static_cast<uint32_t>(k + 4);
    for (int j = 0; j < 4; ++j) (*out)[k + j] = static_cast<char>(v >> (8 * j));
    k += 4;
    --calls;
  }
}

}  // namespace

Status ReadUpack(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  // Upack's PE header sits inside the DOS header, which PeAt() does not take.
  if (!Has(data, 0, 0x40) || data[0] != 'M' || data[1] != 'Z') return Status::Ok();
  const uint32_t pe = Le32(data, 0x3C);
  std::vector<PeSection> secs;
  if (pe > 0x10000 || !ReadPeSections(data, pe, &secs) || secs.size() != 3 || Le16(data, pe + 20) != 0x148)
    return Status::Ok();
  const uint32_t ep_rva = Le32(data, pe + 24 + 16), base = Le32(data, pe + 24 + 28);
  // The entry point's file offset (raw offsets taken down to 0x200).
  uint64_t ep = UINT64_MAX;
  for (const PeSection& s : secs) {
    const uint32_t raw = s.raw & ~0x1FFu;
    if (ep_rva >= s.va && ep_rva - s.va < std::max(s.vsize, s.rsize)) ep = uint64_t{raw} + (ep_rva - s.va);
  }
  if (ep == UINT64_MAX || !Has(data, ep, 7)) return Status::Ok();
  const auto* e = reinterpret_cast<const uint8_t*>(data.data() + ep);
  if (e[0] != 0xBE || !((e[5] == 0xAD && e[6] == 0x50) || (e[5] == 0xFF && e[6] == 0x36))) return Status::Ok();
  if (e[5] == 0xFF) {
    ctx.sink.Warn("upack: this Upack build (push [esi] at the entry point) is not unpacked yet");
    return Status::Ok();
  }
  // The image: the three sections' space, from the first one's address.
  const PeSection &s0 = secs[0], &s1 = secs[1], &s2 = secs[2];
  const uint64_t size = uint64_t{s0.vsize} + s1.vsize + s2.vsize;
  const uint64_t head = std::min<uint64_t>(uint64_t{s0.raw} + s0.rsize, data.size());
  const uint64_t body = s1.raw < data.size() ? std::min<uint64_t>(s1.rsize, data.size() - s1.raw) : 0;
  if (s1.va < s0.va || s2.va < s0.va || head > size || s1.va - s0.va > size - body ||
      s2.va - s0.va > size - head || ep >= head) {
    ctx.sink.Warn("upack: the sections do not fit in the image");
    return Status::Ok();
  }
  if (!ctx.Admit(size + kHeaders)) {
    if (ctx.budget.exhausted()) *stop = true;
    return Status::Ok();
  }
  if (size + kHeaders > ctx.budget.MemberCap()) {
    ctx.sink.LimitExceeded(ctx.budget.Grow(size + kHeaders));
    return Status::Ok();
  }
  std::string img(static_cast<size_t>(size), '\0');
  std::memcpy(img.data(), data.data(), static_cast<size_t>(head));
  std::memcpy(img.data() + (s2.va - s0.va), data.data(), static_cast<size_t>(head));
  if (body) std::memcpy(img.data() + (s1.va - s0.va), data.data() + s1.raw, static_cast<size_t>(body));
  Loader l;
  std::string why = ReadLoader(img, static_cast<uint32_t>(ep), base + s0.va, base, &l);
  if (!why.empty()) {
    ctx.sink.Warn("upack: " + why + "; not unpacked");
    return Status::Ok();
  }
  // The range coder's input, with the LZMA SDK's zero byte in front.
  std::string in = '\0' + img.substr(static_cast<size_t>(l.data));
  std::string out;
  lzma_like::Result r = lzma_like::RawLzma(in, l.lc, 0, 0, static_cast<size_t>(l.end - l.start), &out);
  if (r == lzma_like::Result::kUnsupported) {
    ctx.sink.Warn("upack: literal context " + std::to_string(l.lc) + " is not unpacked yet");
    return Status::Ok();
  }
  if (r != lzma_like::Result::kDone)
    ctx.sink.Warn("upack: the packed data is truncated or corrupt; scanning what unpacked");
  if (out.empty()) return Status::Ok();
  FixCalls(&out, l.call_mark, l.calls);
  std::memcpy(img.data() + l.start, out.data(), out.size());
  img.resize(static_cast<size_t>(l.start) + out.size());
  // The member: made-up headers, then the image up to the output's end.
  MemberBuffer file(ctx.budget);
  LimitHit hit = LimitHit::kNone;
  const std::string headers = lzma_like::OneSectionHeaders(".upack\0\0", base, s0.va, l.oep, img.size());
  img.resize((img.size() + 0x1FF) & ~size_t{0x1FF}, '\0');
  if (!file.Append(headers.data(), headers.size(), &hit) || !file.Append(img.data(), img.size(), &hit)) {
    ctx.sink.LimitExceeded(hit);
    return Status::Ok();
  }
  if (!ctx.sink.Member("upack-unpacked", file.view(), MemberKind::kFile)) *stop = true;
  return Status::Ok();
}

}  // namespace vigil::unpack
