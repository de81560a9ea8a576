// WWPack32-packed PE files (32-bit Windows, WWPack32 1.x by Piotr Warezak
// and Rafal Wierzbicki), unpacked into a PE image. Written from the public
// descriptions of the WWPack32 loader (ClamAV's WWPack notes and its
// detection in the PE scanner, unpacker write-ups), checked byte by byte on
// clamav-testfiles' clam-wwpack.exe (its unpacked image is the 0x5000 bytes
// clamscan rebuilds, original entry point 0x1020).
//
// Recognising it: the loader is the last section and the entry point is its
// first byte; the code there starts with 53 55 8B E8 33 DB EB (push ebx;
// push ebp; mov ebp, eax; xor ebx, ebx; jmp) and holds, at +0x68, the
// position-finding sequence E8 00000000 58 2D 6D000000 50 60 33 C9 50 58 50
// 50.
//
// Layout: the other sections are mapped at their addresses behind the
// file's headers. At loader + 0x2A1 a list of 17-byte records names the
// packed blocks: u32 distance back from the loader's address to the block
// (its address = loader - distance), u32 not needed, u32 packed length in
// dwords, u32 the packed length in bytes - 4 (where the packed bytes end,
// less 4, from the block's address), and a byte that is 0 on the last
// record. A block's packed bytes lie at its address and unpack over
// themselves, from that address on. The original entry point is the target
// of the loader's final "jmp rel32" (E9 at +0x294: loader + 0x299 + the u32
// at +0x295).
//
// Packed blocks: 32-bit little-endian words read MSB first (the next word
// is taken as soon as the previous one is used up), interleaved with whole
// bytes. 0: a literal byte follows. Else two bits: 11 is a two-byte copy
// whose offset is 2 bits t then 5, 6, 8 or 9 bits added to 1, 0x21, 0x61,
// 0x161 (9 bits all set: the end of the block); 00, 01, 10 (s) is a longer
// copy whose offset takes 3 bits: 0-2 then 5-7 bits, 3 and 4 then one more
// bit choosing 8/9 or 10/11 bits, 5 then 12 bits (each + 2^bits - 31), 6 then
// 14 bits + 0x1FE1, 7 then 15 bits + 0x5FE1; its length is s + 2 for s 1
// and 2, and for s 0 a variable code: 0 + a bit (5-6), 1 + 3 bits if not 0
// (+6), else 4 bits if not 0 (+13), else up to three 0/1 steps choosing
// 5, 6 or 7 bits (+29, +61, +125) or, after three 0s, 14 bits.
//
// The image, with its headers fixed (the loader section dropped, each
// section's raw data where it is mapped, the original entry point, the
// image size less the loader's), is one member ("wwpack-unpacked"), looked
// inside like any PE (clam-wwpack.exe's image carries clam.exe in a ZIP
// archive, found as a ZIP-SFX, pe.cc).
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

void Put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
bool Has(size_t size, uint64_t off, uint64_t n) { return off <= size && size - off >= n; }

constexpr char kEntry[] = "\x53\x55\x8B\xE8\x33\xDB\xEB";
constexpr char kEntry68[] = "\xE8\x00\x00\x00\x00\x58\x2D\x6D\x00\x00\x00\x50\x60\x33\xC9\x50\x58\x50\x50";
constexpr size_t kRecords = 0x2A1, kRecordLen = 17, kJumpTarget = 0x295;
constexpr int kMaxBlocks = 4096;

// Bits MSB first from 32-bit little-endian words, the next word taken as
// soon as one is used up; bytes come from the same input after the word
// last taken.
class Bits {
 public:
  explicit Bits(std::string_view in) : in_(in) { Refill(); }
  // -1 when the input ran out.
  int Bit() {
    if (count_ == 0) return -1;
    int b = static_cast<int>(word_ >> 31);
    word_ <<= 1;
    if (--count_ == 0) Refill();
    return b;
  }
  bool Take(int n, uint32_t* v) {
    *v = 0;
    for (int i = 0; i < n; ++i) {
      int b = Bit();
      if (b < 0) return false;
      *v = *v << 1 | static_cast<uint32_t>(b);
    }
    return true;
  }
  int Byte() { return pos_ < in_.size() ? static_cast<uint8_t>(in_[pos_++]) : -1; }

 private:
  void Refill() {
    if (!Has(in_.size(), pos_, 4)) return;  // count_ stays 0: out of bits if more are needed
    word_ = Le32(in_.data() + pos_);
    pos_ += 4;
    count_ = 32;
  }
  std::string_view in_;
  size_t pos_ = 0;
  uint32_t word_ = 0;
  int count_ = 0;
};

enum class Block { kDone, kCorrupt };

// Unpacks `packed` into `img` from offset `at` on (earlier image bytes may
// be copied from). Stops at the end code.
Block Unpack(std::string_view packed, char* img, size_t img_size, size_t at) {
  Bits in(packed);
  size_t out = at;
  auto copy = [&](uint32_t dist, uint32_t len) {
    if (dist == 0 || dist > out || !Has(img_size, out, len)) return false;
    for (uint32_t i = 0; i < len; ++i, ++out) img[out] = img[out - dist];
    return true;
  };
  for (;;) {
    int b = in.Bit();
    if (b < 0) return Block::kCorrupt;
    if (b == 0) {
      int c = in.Byte();
      if (c < 0 || out >= img_size) return Block::kCorrupt;
      img[out++] = static_cast<char>(c);
      continue;
    }
    uint32_t kind, v;
    if (!in.Take(2, &kind)) return Block::kCorrupt;
    if (kind == 3) {  // two bytes
      uint32_t t;
      if (!in.Take(2, &t)) return Block::kCorrupt;
      static constexpr int kWidth[4] = {5, 6, 8, 9};
      static constexpr uint32_t kBase[4] = {0x1, 0x21, 0x61, 0x161};
      if (!in.Take(kWidth[t], &v)) return Block::kCorrupt;
      if (t == 3 && v == 0x1FF) return Block::kDone;
      if (!copy(kBase[t] + v, 2)) return Block::kCorrupt;
      continue;
    }
    uint32_t sel, dist;
    if (!in.Take(3, &sel)) return Block::kCorrupt;
    if (sel < 6) {
      int width;
      if (sel <= 2) {
        width = static_cast<int>(sel) + 5;
      } else if (sel == 5) {
        width = 12;
      } else {
        int e = in.Bit();
        if (e < 0) return Block::kCorrupt;
        width = (sel == 3 ? 8 : 10) + e;
      }
      if (!in.Take(width, &v)) return Block::kCorrupt;
      dist = v + (1u << width) - 31;
    } else if (sel == 6) {
      if (!in.Take(14, &v)) return Block::kCorrupt;
      dist = v + 0x1FE1;
    } else {
      if (!in.Take(15, &v)) return Block::kCorrupt;
      dist = v + 0x5FE1;
    }
    uint32_t len;
    if (kind != 0) {
      len = kind + 2;
    } else {
      int e = in.Bit();
      if (e < 0) return Block::kCorrupt;
      if (e == 0) {
        int f = in.Bit();
        if (f < 0) return Block::kCorrupt;
        len = 5 + static_cast<uint32_t>(f);
      } else if (!in.Take(3, &v)) {
        return Block::kCorrupt;
      } else if (v != 0) {
        len = v + 6;
      } else if (!in.Take(4, &v)) {
        return Block::kCorrupt;
      } else if (v != 0) {
        len = v + 13;
      } else {
        // Up to three steps: a 1 picks 5, 6 or 7 bits (+29, +61, +125);
        // after three 0s, 14 bits.
        static constexpr uint32_t kAdd[3] = {29, 61, 125};
        int width = 14;
        uint32_t add = 0;
        for (int step = 0; step < 3; ++step) {
          int s = in.Bit();
          if (s < 0) return Block::kCorrupt;
          if (s) {
            width = 5 + step;
            add = kAdd[step];
            break;
          }
        }
        if (!in.Take(width, &v)) return Block::kCorrupt;
        len = v + add;
      }
    }
    if (!copy(dist, len)) return Block::kCorrupt;
  }
}

}  // namespace

Status ReadWwpack(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  if (!PeAt(data, 0)) return Status::Ok();
  const size_t pe = Le32(data.data() + 0x3C);
  std::vector<PeSection> secs;
  if (!ReadPeSections(data, pe, &secs) || secs.size() < 2) return Status::Ok();
  const size_t opt = pe + 24;
  const uint16_t opt_len = Le16(data.data() + pe + 20);
  if (opt_len < 0x60 || !Has(data.size(), opt, 0x60)) return Status::Ok();
  const uint32_t ep = Le32(data.data() + opt + 16);
  const PeSection& loader = secs.back();
  if (ep != loader.va || loader.rsize == 0 || !Has(data.size(), loader.raw, 0x68 + sizeof(kEntry68) - 1) ||
      std::memcmp(data.data() + loader.raw, kEntry, sizeof(kEntry) - 1) != 0 ||
      std::memcmp(data.data() + loader.raw + 0x68, kEntry68, sizeof(kEntry68) - 1) != 0)
    return Status::Ok();
  // From here on it claims to be WWPack32: trouble is worth a warning.
  const std::string_view code = data.substr(loader.raw, std::min<size_t>(loader.rsize, data.size() - loader.raw));
  uint32_t align = Le32(data.data() + opt + 32);
  if (align < 0x200 || align > 0x10000 || (align & (align - 1)) != 0) align = 0x1000;
  auto round = [align](uint64_t v) { return (v + align - 1) / align * align; };

  // The image: the headers (up to the first section's raw data), then each
  // section but the loader at its address.
  uint64_t head = loader.raw, size = 0;
  for (size_t i = 0; i + 1 < secs.size(); ++i) {
    const PeSection& s = secs[i];
    if (s.rsize != 0) head = std::min<uint64_t>(head, s.raw);
    size = std::max<uint64_t>(size, s.va + round(s.vsize != 0 ? s.vsize : s.rsize));
  }
  const size_t table = opt + opt_len;
  if (head == 0 || size < head || table + 40 * secs.size() > head) {
    ctx.sink.Warn("wwpack: the headers or sections are malformed; not unpacked");
    return Status::Ok();
  }
  if (!ctx.Admit(size)) {
    if (ctx.budget.exhausted()) *stop = true;
    return Status::Ok();
  }
  if (size > ctx.budget.MemberCap()) {
    ctx.sink.LimitExceeded(ctx.budget.Grow(size));
    return Status::Ok();
  }
  MemberBuffer image(ctx.budget);
  LimitHit hit = LimitHit::kNone;
  size_t got = 0;
  char* img = image.Extend(static_cast<size_t>(size), &got, &hit);
  if (img == nullptr || got != size) {
    ctx.sink.LimitExceeded(hit != LimitHit::kNone ? hit : image.Over());
    return Status::Ok();
  }
  std::memset(img, 0, got);
  std::memcpy(img, data.data(), static_cast<size_t>(head));
  bool truncated = false;
  for (size_t i = 0; i + 1 < secs.size(); ++i) {
    const PeSection& s = secs[i];
    if (s.rsize == 0) continue;
    uint64_t n = s.rsize;
    if (!Has(data.size(), s.raw, n)) {
      truncated = true;
      n = s.raw < data.size() ? data.size() - s.raw : 0;
    }
    if (s.va < head || !Has(got, s.va, n)) {
      truncated = true;  // overlaps the headers or lies past the image
      continue;
    }
    std::memcpy(img + s.va, data.data() + s.raw, static_cast<size_t>(n));
  }

  // Unpack the blocks the records name.
  bool corrupt = false;
  size_t rec = kRecords;
  for (int blocks = 0;; ++blocks) {
    if (!Has(code.size(), rec, kRecordLen) || blocks == kMaxBlocks) {
      corrupt = true;
      break;
    }
    const uint32_t back = Le32(code.data() + rec);
    const uint64_t packed_len = static_cast<uint64_t>(Le32(code.data() + rec + 8)) * 4;
    const uint64_t packed_end = static_cast<uint64_t>(Le32(code.data() + rec + 12)) + 4;
    const bool last = code[rec + 16] == 0;
    rec += kRecordLen;
    // The packed bytes end packed_end bytes after the block's address (they
    // fill it from the start in the files seen: both lengths agree).
    const uint64_t start = static_cast<uint64_t>(loader.va) - back + packed_end - packed_len;
    if (back > loader.va || packed_len == 0 || packed_end < packed_len || !Has(got, start, packed_len)) {
      corrupt = true;
      break;
    }
    // The packed bytes are read from a copy (the loader's scratch area is
    // filled with FF) and unpack over themselves.
    std::string packed(img + start, static_cast<size_t>(packed_len));
    std::memset(img + start, 0xFF, static_cast<size_t>(packed_len));
    if (Unpack(packed, img, got, static_cast<size_t>(start)) != Block::kDone) {
      corrupt = true;
      break;
    }
    if (last) break;
  }
  if (corrupt || truncated)
    ctx.sink.Warn("wwpack: the packed data is truncated or corrupt; scanning what unpacked");

  // Fix the headers: the loader section gone, each section's raw data where
  // it is mapped, the original entry point and image size.
  char* hdr = img + pe;
  const uint16_t count = static_cast<uint16_t>(secs.size() - 1);
  hdr[6] = static_cast<char>(count);
  hdr[7] = static_cast<char>(count >> 8);
  if (Has(code.size(), kJumpTarget, 4))
    Put32(hdr + 24 + 16, Le32(code.data() + kJumpTarget) + loader.va + kJumpTarget + 4);
  Put32(hdr + 24 + 56, Le32(hdr + 24 + 56) - static_cast<uint32_t>(round(loader.vsize)));
  for (size_t i = 0; i < count; ++i) {
    char* e = img + table + 40 * i;
    const uint32_t vsize = static_cast<uint32_t>(round(secs[i].vsize != 0 ? secs[i].vsize : secs[i].rsize));
    Put32(e + 8, vsize);
    Put32(e + 16, vsize);
    Put32(e + 20, secs[i].va);
  }
  std::memset(img + table + 40 * count, 0, 40);

  if (!ctx.sink.Member("wwpack-unpacked", image.view(), MemberKind::kFile)) *stop = true;
  return Status::Ok();
}

}  // namespace vigil::unpack
