// Petite 2.1/2.2-packed PE files (32-bit Windows), unpacked into a rebuilt
// PE image. Written from the public descriptions of the Petite 2.x loader
// (ClamAV's petite notes and its detection in the PE scanner, reverse-
// engineering write-ups of Ian Luck's Petite), checked byte by byte on
// clamav-testfiles' clam-petite.exe (whose original entry point, 0x1020,
// and section sizes match what clamscan reports).
//
// Recognising it: the entry point starts with "mov eax, imm32" (B8) whose
// operand is the image base plus the address of the last section (2.2) or
// of the one before it (2.1, which then leaves the last section out).
// Level-zero files (u32 0x163C988D at entry + 0x80) are not compressed the
// same way and are not unpacked.
//
// The loader works on the mapped image (every section's raw data at its
// address), so this reader does the same. A table at that section's
// address + 0x1B8 (2.2) or + 0x178 (2.1) lists, until a zero u32:
//  - block moves (u32 with bit 31 set: that many dwords; then the address
//    of the last source dword and of the last destination dword): the
//    dwords are copied (as memmove), making room for in-place unpacking;
//    the end of the destination is remembered as the end of the next
//    sections.
//  - unpacked sections (16 bytes: source address, unpacked length,
//    destination address, unused): the first byte is copied as it is,
//    then a bit stream (bits taken MSB first from one byte at a time,
//    interleaved with whole bytes) says for each step: 0, a literal byte
//    XORed with the low byte of the count still to produce; 1, a match.
//    A match's offset code is a gamma number (1, then a data bit and a
//    continue bit per step): 2 repeats the last offset with no bonus
//    length, else (code - 3) gets 5, 7 or 8 more bits (by the section
//    length: < 64 KiB, < 256 KiB, larger), and the offset is that plus
//    one, backwards. Its length is two bits, or when both are 0 a gamma
//    number + 2; plus 1, one more for offsets above 0x3A0 (0x680, 0x500
//    with 7, 8 extra bits) and one more above 0x3FA0 (0x7E80, 0x7D00).
//    The first section after a move that starts inside a section of the
//    packed file is widened back to that section's start (its head was
//    stored as it is, e.g. an icon).
// A section that ends with the Petite loader (recognised by its code
// bytes near the end) is cut before it; the loader there also holds the
// original entry point, XORed and then shifted by a walk over the import
// thunks (2.2), which is undone to give the rebuilt file its entry point.
// The unpacked sections, sorted by address and each made as large as the
// gap to the next, are laid out behind new headers. The result is one
// member ("petite-unpacked"), looked inside like any PE. Call and jump
// address transforms and mangled imports are not undone. (clam-petite.exe
// carries clam.exe in a ZIP archive, found in the result as a ZIP-SFX.)
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "match/exe.h"
#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

using match::PeSection;
using match::ReadPeSections;

bool Has(size_t size, uint64_t off, uint64_t n) { return off <= size && size - off >= n; }
void Put32(char* f, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) f[off + i] = static_cast<char>(v >> (8 * i));
}
void Put16(char* f, size_t off, uint16_t v) {
  f[off] = static_cast<char>(v);
  f[off + 1] = static_cast<char>(v >> 8);
}

constexpr uint32_t kLevelZeroMark = 0x163C988D;
constexpr size_t kMaxSections = 96;
constexpr uint32_t kPage = 0x1000;

// The mapped image of the packed file: bytes from address `base` on.
struct Image {
  char* p = nullptr;
  size_t size = 0;
  uint32_t base = 0;
  // The offset in the image of address `rva`, if `n` bytes fit there.
  bool At(uint64_t rva, uint64_t n, size_t* off) const {
    if (rva < base || !Has(size, rva - base, n)) return false;
    *off = static_cast<size_t>(rva - base);
    return true;
  }
  bool Read32(uint64_t rva, uint32_t* v) const {
    size_t off;
    if (!At(rva, 4, &off)) return false;
    *v = Le32(p + off);
    return true;
  }
};

// One section of the unpacked file.
struct Unpacked {
  uint32_t rva = 0, rsize = 0, vsize = 0;
};

// Bits MSB first from single bytes; the register holds a marker bit below
// the bits still unread, so it is empty when only the marker is left.
class Bits {
 public:
  Bits(const Image& img, size_t pos) : img_(img), pos_(pos) {}
  int Bit() {
    if ((reg_ & 0x7F) == 0) {
      int b = Byte();
      if (b < 0) return -1;
      reg_ = static_cast<uint8_t>(b << 1 | 1);
      return b >> 7;
    }
    int bit = reg_ >> 7;
    reg_ = static_cast<uint8_t>(reg_ << 1);
    return bit;
  }
  int Byte() { return pos_ < img_.size ? static_cast<uint8_t>(img_.p[pos_++]) : -1; }
  // A gamma number starting from `v`: a data bit, then a continue bit, per
  // step. False when the input ran out or the number grew past 32 bits.
  bool Gamma(uint32_t v, uint32_t* out) {
    for (int steps = 0; steps < 32; ++steps) {
      int b = Bit(), more = b < 0 ? -1 : Bit();
      if (more < 0) return false;
      v = v * 2 + static_cast<uint32_t>(b);
      if (!more) {
        *out = v;
        return true;
      }
    }
    return false;
  }

 private:
  const Image& img_;
  size_t pos_;
  uint8_t reg_ = 0;
};

// Unpacks `size` bytes from image offset `src` to image offset `dst`, in
// place (both in the same mapped image). False when the stream is corrupt
// or runs out of the image.
bool Decompress(const Image& img, size_t src, size_t dst, uint32_t size) {
  if (size == 0) return true;
  if (src >= img.size || !Has(img.size, dst, size)) return false;
  int extra_bits;
  uint32_t far1, far2;  // offset thresholds for one and two more bytes of length
  if (size < 0x10000) {
    extra_bits = 5, far1 = 0x3A0, far2 = 0x3FA0;
  } else if (size < 0x40000) {
    extra_bits = 7, far1 = 0x680, far2 = 0x7E80;
  } else {
    extra_bits = 8, far1 = 0x500, far2 = 0x7D00;
  }
  img.p[dst++] = img.p[src];
  Bits in(img, src + 1);
  uint32_t left = size - 1;
  uint32_t last_dist = 0;
  while (left > 0) {
    int b = in.Bit();
    if (b < 0) return false;
    if (b == 0) {
      int c = in.Byte();
      if (c < 0) return false;
      img.p[dst++] = static_cast<char>(c ^ (left & 0xFF));
      --left;
      continue;
    }
    uint32_t code, len, bonus = 0, dist;
    if (!in.Gamma(1, &code)) return false;
    if (code >= 3) {
      uint64_t v = code - 3;
      for (int i = 0; i < extra_bits; ++i) {
        int e = in.Bit();
        if (e < 0) return false;
        v = v * 2 + static_cast<uint64_t>(e);
      }
      if (v >= 0x7FFFFFFF) return false;
      dist = static_cast<uint32_t>(v) + 1;
      bonus = 1 + (dist > far1 ? 1 : 0) + (dist > far2 ? 1 : 0);
      last_dist = dist;
    } else {
      dist = last_dist;
    }
    int b1 = in.Bit(), b2 = b1 < 0 ? -1 : in.Bit();
    if (b2 < 0) return false;
    len = static_cast<uint32_t>(b1 * 2 + b2);
    if (len == 0) {
      if (!in.Gamma(1, &len) || len > 0xFFFFFF00) return false;
      len += 2;
    }
    len += bonus;
    if (len > left || dist > dst) return false;
    for (uint32_t i = 0; i < len; ++i, ++dst) img.p[dst] = img.p[dst - dist];
    left -= len;
  }
  return true;
}

// The loader's trailer in an unpacked section ending at `end` (an image
// offset) of `rsize` bytes: the bytes to cut from the section, 0 when the
// loader is not there. Sets the encrypted entry point and the import
// thunk array's address when the loader's key checks out.
struct Trailer {
  uint32_t enc_ep = 0, thunks = 0;
  bool mangled = false;
};
uint32_t FindLoader(const Image& img, size_t end, uint32_t rsize, uint32_t grown, uint32_t skew, Trailer* t) {
  constexpr uint32_t kMagic1 = 0x645EC033, kMagic2 = 0x1B8B188B;  // xor eax,eax; pop esi; mov ebx,fs:[eax]...
  auto at = [&](uint64_t back, uint32_t* v) {  // u32 at end - back
    if (back > end || !Has(img.size, end - back, 4)) return false;
    *v = Le32(img.p + (end - back));
    return true;
  };
  auto magic_at = [&](uint32_t shift) {
    uint32_t a, b;
    return at(grown - 0x54 + shift, &a) && at(grown - 0x58 + shift, &b) && a == kMagic1 && b == kMagic2;
  };
  uint32_t reloc;
  if (rsize > grown + skew && magic_at(skew)) {
    reloc = skew;  // the original file kept relocations: the loader sits lower
  } else if (rsize > grown && magic_at(0)) {
    reloc = 0;
  } else {
    return 0;
  }
  const uint64_t base = static_cast<uint64_t>(grown) + reloc;  // loader start, back from the end
  uint32_t k1, k2, ep, thunks, nops;
  if (at(base - 0x07, &k1) && at(base - 0x0B, &k2) && (k1 ^ 0x9D6661AA) == (k2 ^ 0xE908C483) &&
      at(base - 0x0F, &ep) && at(base - 0x121, &thunks) && at(base - 0x1C0, &nops)) {
    t->enc_ep = ep ^ k1 ^ 0x9D6661AA;
    t->thunks = thunks;
    t->mangled = nops != 0x90909090;
  }
  return grown + reloc;
}

// Petite 2.2 folds the import thunks into the entry point: for each
// imported function (in the thunk arrays listed at `t.thunks`), one or two
// decrements and a 3-bit rotation right. Replays that walk; false when the
// list does not end within the image or the walk is absurdly long.
bool DecryptEntry(const Image& img, const Trailer& t, uint32_t packed_ep, uint32_t image_base, uint32_t loader_va,
                  uint32_t* enc_ep) {
  uint32_t key = t.enc_ep;
  uint32_t next_va = packed_ep + 5 + image_base;
  int skip = 0;
  uint64_t steps = 0;
  uint64_t thunk = t.thunks;
  for (;;) {
    uint32_t list;
    if (!img.Read32(thunk, &list)) return false;
    if (list == 0) break;
    thunk += 4;
    bool ended = false;
    for (uint64_t imp = list;; imp += 4) {
      uint32_t api;
      if (++steps > (1u << 20) || !img.Read32(imp, &api)) return false;
      if (api == 0) {
        ended = true;
        break;
      }
      if (!(api & 0x80000000u) && t.mangled && --skip < 0) {
        api = next_va;  // a mangled import: a jump stub in the loader
        next_va += 5;
        skip = static_cast<int>(next_va & 7);
      } else {
        api = 0xBFF01337;  // a stand-in for a system DLL's address
      }
      if (static_cast<uint64_t>(loader_va) + image_base < api) --key;
      if (api < next_va) --key;
      key = key >> 3 | key << 29;
    }
    if (!ended) return false;
  }
  *enc_ep = key;
  return true;
}

// New headers and the sections (sorted, contiguous in addresses) at
// 0x200-aligned offsets, written to `out`; false (with the hit) when that
// is over the member limit.
bool Rebuild(const Image& img, const std::vector<Unpacked>& secs, uint32_t ep, uint32_t image_base, uint32_t res_rva,
             uint32_t res_size, const Budget& budget, MemberBuffer* out, LimitHit* hit) {
  constexpr size_t kPe = 0x40, kOptional = 0xE0, kTable = kPe + 24 + kOptional;
  auto align = [](uint64_t v, uint64_t a) { return (v + a - 1) / a * a; };
  const uint64_t headers = align(kTable + 40 * secs.size(), 0x200);
  uint64_t size = headers;
  for (const Unpacked& s : secs) size += align(s.rsize, 0x200);
  if (size > budget.MemberCap()) {
    *hit = budget.Grow(size);
    return false;
  }
  size_t got = 0;
  char* f = out->Extend(static_cast<size_t>(size), &got, hit);
  if (f == nullptr || got != size) return false;
  std::memset(f, 0, got);
  f[0] = 'M';
  f[1] = 'Z';
  Put32(f, 0x3C, kPe);
  std::memcpy(f + kPe, "PE\0\0", 4);
  Put16(f, kPe + 4, 0x14C);
  Put16(f, kPe + 6, static_cast<uint16_t>(secs.size()));
  Put16(f, kPe + 20, kOptional);
  Put16(f, kPe + 22, 0x010F);
  const size_t o = kPe + 24;
  Put16(f, o, 0x10B);
  Put32(f, o + 16, ep);
  Put32(f, o + 28, image_base);
  Put32(f, o + 32, kPage);  // section alignment
  Put32(f, o + 36, 0x200);  // file alignment
  Put16(f, o + 40, 4);      // OS version 4.0
  Put16(f, o + 48, 4);      // subsystem version 4.0
  const Unpacked& tail = secs.back();
  Put32(f, o + 56, static_cast<uint32_t>(align(static_cast<uint64_t>(tail.rva) + tail.vsize, kPage)));
  Put32(f, o + 60, static_cast<uint32_t>(headers));
  Put16(f, o + 68, 2);  // GUI
  Put32(f, o + 72, 0x100000);
  Put32(f, o + 76, 0x1000);
  Put32(f, o + 80, 0x100000);
  Put32(f, o + 84, 0x1000);
  Put32(f, o + 92, 16);
  Put32(f, o + 96 + 2 * 8, res_rva);
  Put32(f, o + 96 + 2 * 8 + 4, res_size);
  uint64_t raw = headers;
  for (size_t i = 0; i < secs.size(); ++i) {
    const Unpacked& s = secs[i];
    const size_t e = kTable + 40 * i;
    std::string name = ".sect" + std::to_string(i);
    std::memcpy(f + e, name.data(), std::min<size_t>(name.size(), 8));
    Put32(f, e + 8, s.vsize);
    Put32(f, e + 12, s.rva);
    Put32(f, e + 16, static_cast<uint32_t>(align(s.rsize, 0x200)));
    Put32(f, e + 20, static_cast<uint32_t>(raw));
    Put32(f, e + 36, 0xE0000060);  // code, data; read, write, execute
    size_t from;
    if (s.rsize != 0 && img.At(s.rva, s.rsize, &from)) std::memcpy(f + raw, img.p + from, s.rsize);
    raw += align(s.rsize, 0x200);
  }
  return true;
}

}  // namespace

Status ReadPetite(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  if (!PeAt(data, 0)) return Status::Ok();
  const size_t pe = Le32(data.data() + 0x3C);
  std::vector<PeSection> secs;
  if (!ReadPeSections(data, pe, &secs)) return Status::Ok();
  const size_t opt = pe + 24;
  if (!Has(data.size(), opt, 96 + 3 * 8) || static_cast<uint8_t>(data[opt]) != 0x0B || data[opt + 1] != 1)
    return Status::Ok();  // not PE32
  const uint32_t ep = Le32(data.data() + opt + 16), image_base = Le32(data.data() + opt + 28);
  const uint32_t res_rva = Le32(data.data() + opt + 96 + 16), res_size = Le32(data.data() + opt + 96 + 20);
  // The entry point's bytes in the file.
  size_t ep_off = SIZE_MAX;
  for (const PeSection& s : secs) {
    if (ep >= s.va && ep - s.va < s.rsize && static_cast<uint64_t>(s.raw) + (ep - s.va) < data.size()) {
      ep_off = s.raw + (ep - s.va);
      break;
    }
  }
  if (ep_off == SIZE_MAX || !Has(data.size(), ep_off, 0x84) || static_cast<uint8_t>(data[ep_off]) != 0xB8)
    return Status::Ok();
  const uint32_t operand = Le32(data.data() + ep_off + 1);
  int version;
  if (operand == static_cast<uint32_t>(secs.back().va + image_base)) {
    version = 2;
  } else if (secs.size() >= 2 && operand == static_cast<uint32_t>(secs[secs.size() - 2].va + image_base)) {
    version = 1;
  } else {
    return Status::Ok();
  }
  // From here on it claims to be Petite: trouble is worth a warning.
  if (Le32(data.data() + ep_off + 0x80) == kLevelZeroMark) {
    ctx.sink.Warn("petite: level-zero files are not unpacked yet");
    return Status::Ok();
  }
  const size_t packed_count = version == 2 ? secs.size() : secs.size() - 1;  // sections of the packed file proper
  const uint32_t loader_va = secs[packed_count - 1].va;

  // Map the image: every section's raw data at its address.
  uint64_t lo = UINT64_MAX, hi = 0;
  for (const PeSection& s : secs) {
    lo = std::min<uint64_t>(lo, s.va);
    hi = std::max<uint64_t>(hi, (static_cast<uint64_t>(s.va) + std::max(s.vsize, s.rsize) + kPage - 1) / kPage * kPage);
  }
  if (hi <= lo) return Status::Ok();
  const uint64_t span = hi - lo;
  if (!ctx.Admit(span)) {
    if (ctx.budget.exhausted()) *stop = true;
    return Status::Ok();
  }
  LimitHit hit = LimitHit::kNone;
  if (span > ctx.budget.MemberCap()) {
    ctx.sink.LimitExceeded(ctx.budget.Grow(span));
    return Status::Ok();
  }
  MemberBuffer mapped(ctx.budget);
  size_t got = 0;
  char* p = mapped.Extend(static_cast<size_t>(span), &got, &hit);
  if (p == nullptr || got < span || mapped.Over() != LimitHit::kNone) {
    ctx.sink.LimitExceeded(hit != LimitHit::kNone ? hit : mapped.Over());
    return Status::Ok();
  }
  Image img{p, static_cast<size_t>(span), static_cast<uint32_t>(lo)};
  bool truncated = false;
  for (const PeSection& s : secs) {
    if (s.rsize == 0) continue;
    if (static_cast<uint64_t>(s.raw) + s.rsize > data.size()) truncated = true;
    if (s.raw >= data.size()) continue;
    size_t at;
    uint64_t n = std::min<uint64_t>(s.rsize, data.size() - s.raw);
    n = std::min<uint64_t>(n, hi - s.va);
    if (img.At(s.va, n, &at)) std::memcpy(p + at, data.data() + s.raw, static_cast<size_t>(n));
  }

  // Replay the loader's table.
  const uint32_t grown = version == 2 ? 0x355 : 0x323, skew = version == 2 ? 0x35 : 0x34;
  uint64_t entry = static_cast<uint64_t>(loader_va) + (version == 2 ? 0x1B8 : 0x178);
  std::vector<Unpacked> out;
  uint32_t bottom = 0;
  bool after_move = true;  // the first section (or the first after a move) may have a stored head
  Trailer trailer;
  bool corrupt = false;
  for (;;) {
    uint32_t word;
    if (!img.Read32(entry, &word)) {
      corrupt = true;
      break;
    }
    if (word == 0) break;
    if (word & 0x80000000u) {
      const uint64_t bytes = static_cast<uint64_t>(word & 0x7FFFFFFF) * 4;
      uint32_t src_last, dst_last;
      size_t from, to;
      if (bytes == 0 || !img.Read32(entry + 4, &src_last) || !img.Read32(entry + 8, &dst_last) ||
          src_last + uint64_t{4} < bytes || dst_last + uint64_t{4} < bytes ||
          !img.At(src_last + uint64_t{4} - bytes, bytes, &from) ||
          !img.At(dst_last + uint64_t{4} - bytes, bytes, &to)) {
        corrupt = true;
        break;
      }
      std::memmove(p + to, p + from, static_cast<size_t>(bytes));
      bottom = dst_last + 4;
      after_move = true;
      entry += 12;
      continue;
    }
    uint32_t size, rva;
    if (!img.Read32(entry + 4, &size) || !img.Read32(entry + 8, &rva) || out.size() == kMaxSections) {
      corrupt = true;
      break;
    }
    entry += 16;
    Unpacked u{rva, size, static_cast<int32_t>(bottom - rva) > 0 ? bottom - rva : size};
    if (size == 0) {  // an empty section (relocations stripped)
      out.push_back(u);
      continue;
    }
    if (after_move) {
      for (size_t q = 0; q < packed_count; ++q) {
        const PeSection& s = secs[q];
        if (rva > s.va && rva < static_cast<uint64_t>(s.va) + s.vsize) {
          u.rva = s.va;
          u.rsize = rva - s.va + size;
          break;
        }
      }
    }
    size_t src, dst;
    if (!img.At(word, 1, &src) || !img.At(rva, size, &dst) || !Decompress(img, src, dst, size)) {
      corrupt = true;
      break;
    }
    Trailer t;
    uint32_t cut = FindLoader(img, dst + size, u.rsize, grown, skew, &t);
    if (cut != 0) {
      u.rsize -= cut;
      if (t.enc_ep != 0) trailer = t;
    }
    out.push_back(u);
    after_move = false;
  }
  if (out.empty() || (corrupt && out.size() == 1 && out[0].rsize == 0)) {
    ctx.sink.Warn("petite: no section could be unpacked");
    return Status::Ok();
  }
  if (corrupt || truncated) ctx.sink.Warn("petite: the packed data is truncated or corrupt; scanning what unpacked");

  std::stable_sort(out.begin(), out.end(), [](const Unpacked& a, const Unpacked& b) { return a.rva < b.rva; });
  for (size_t i = 0; i + 1 < out.size(); ++i) out[i].vsize = out[i + 1].rva - out[i].rva;
  uint32_t new_ep = 0;
  if (trailer.enc_ep != 0) {
    uint32_t key = trailer.enc_ep;
    if (version == 2 && !DecryptEntry(img, trailer, ep, image_base, loader_va, &key))
      ctx.sink.Warn("petite: the original entry point could not be recovered");
    new_ep = ep + 5 + key;
  }
  MemberBuffer file(ctx.budget);
  if (!Rebuild(img, out, new_ep, image_base, res_rva, res_size, ctx.budget, &file, &hit)) {
    ctx.sink.LimitExceeded(hit != LimitHit::kNone ? hit : file.Over());
    return Status::Ok();
  }
  mapped.Clear();
  if (!ctx.sink.Member("petite-unpacked", file.view(), MemberKind::kFile)) *stop = true;
  return Status::Ok();
}

}  // namespace vigil::unpack
