// ASPack 2.x packed PE files (32-bit Windows), unpacked into a PE image.
// Written from ClamAV's description of the format (libclamav's ASPack
// support: version markers, table offsets, the decoder's layout) and the
// offsets documented by pedump's ASPack module, checked on
// clamav-testfiles' clam-aspack.exe (an ASPack 2.12 file).
//
// Layout. The loader is the entry point's section (".aspack"), followed by
// a section with no raw data (".adata"). Its code starts with the bytes
// 60 E8 03 00 00 00 E9 EB (pushad; call; jmp) and holds, at fixed offsets
// from the byte before the entry point (the "loader base", which is where
// the section starts in practice), data that tells the version and the
// work to do. A "push 0; ret" (68 00 00 00 00 C3) at entry + 0x3B9 marks
// 2.12, at + 0x41F the versions between 2.12 and 2.42, at + 0x42B 2.42.
// For each version (offsets from the loader base):
//   - the block table (0x57C / 0x5D8 / 0x5E4): (address, size) pairs (8
//     bytes in 2.12, 12 in later versions, whose entries with a size of
//     0xFFFFFEF2 are skipped), ended by address 0;
//   - the original entry point's address (0x39B / 0x401 / 0x40D);
//   - the call-filter mark byte (0x148 / 0x13A / 0x148).
// Each block is compressed in place: its `size` unpacked bytes replace the
// compressed bytes that start at the same address in the mapped image.
// After the first block is unpacked, ASPack's call filter is undone on it:
// every E8/E9 byte followed by the mark byte (before the last 6 bytes)
// is followed by a 32-bit word whose top 24 bits, rotated right by 8, less
// the E8's position in the block, are the real relative target. (ClamAV
// always undoes it; the loader also has a flag to skip it. We do as
// ClamAV, so that the image is the one clamscan scans.) The result keeps
// the sections before the loader's two, laid out at their addresses.
//
// Compression: an LZX-like scheme. Bits are read first bit first
// (most significant) from the block's bytes, followed by 0x10E zero bytes.
// Four canonical Huffman codes (at most 15 bits, and complete): a main
// code of 721 symbols, a length code of 28, an "aligned" code of 8, and a
// pre-code of 19 that codes the others' lengths. A table header is one
// bit (0: the previous lengths are forgotten), the 19 pre-code lengths (4
// bits each), then the 757 lengths of the main, length and aligned codes,
// coded with the pre-code: 0-15 adds to the previous length (mod 16), 16
// repeats the length before 3 + 2 bits times, 17 gives 3 + 3 bits zeros,
// 18 gives 11 + 7 bits zeros. Aligned offsets are in use unless all eight
// aligned lengths are 3. A block starts with a table header; then, per
// main symbol: below 256 a literal byte; 720 a new table header; else a
// match, symbol - 256 = slot * 8 + l: the length is l + 2, and when l is 7
// a length symbol s adds base[s] + extra[s] bits. The offset slot gives a
// base and a number of extra bits n; with aligned offsets in use and n >= 3
// the extra value is (n - 3 bits) * 8 + an aligned symbol, else n bits.
// Values 0-2 pick (and move to the front) one of the last three distances;
// others are a new distance (value - 3), pushed in front. A copy starts
// distance + 1 bytes back, never before the block nor past its end.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "match/exe.h"
#include "unpack/canonical_code.h"
#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

using match::PeSection;
using match::ReadPeSections;

bool Has(size_t size, uint64_t off, uint64_t n) { return off <= size && size - off >= n; }

// The per-version offsets, from the loader base (entry point - 1).
struct Version {
  const char* name;
  uint32_t marker;  // "push 0; ret", from the entry point
  uint32_t blocks, oep, mark;
  uint32_t entry_size;  // bytes per block table entry
};
constexpr Version kVersions[] = {
    {"2.12", 0x3B9, 0x57C, 0x39B, 0x148, 8},
    {"2.12-2.42", 0x41F, 0x5D8, 0x401, 0x13A, 12},
    {"2.42", 0x42B, 0x5E4, 0x40D, 0x148, 12},
};

// The decoder's constant tables (the same in every version; the loader
// keeps a copy of them).
constexpr uint8_t kLengthBase[28] = {0,    1,    2,    3,    4,    5,    6,    7,    8,    0x0A,
                                     0x0C, 0x0E, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x28, 0x30, 0x38,
                                     0x40, 0x50, 0x60, 0x70, 0x80, 0xA0, 0xC0, 0xE0};
constexpr uint8_t kLengthExtra[28] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5};
constexpr uint8_t kOffsetExtra[58] = {0,  0,  0,  0,  1,  1,  2,  2,  3,  3,  4,  4,  5,  5,  6,  6,  7,  7,  8,  8,
                                      9,  9,  10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16, 16, 17, 17, 17, 17,
                                      17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 18, 18, 18, 18, 18, 18, 18, 18};

constexpr size_t kPadding = 0x10E;  // zero bytes the loader reads past a block
constexpr int kMainSymbols = 721, kLengthSymbols = 28, kAlignedSymbols = 8, kPreSymbols = 19;
constexpr int kAllLengths = kMainSymbols + kLengthSymbols + kAlignedSymbols;  // 757
constexpr int kMaxBits = 15;
constexpr int kNewTables = 720;

class BitReader {
 public:
  explicit BitReader(std::string_view in) : in_(in) {}
  // The next bit, -1 past the input and its zero padding.
  int Bit() {
    size_t byte = pos_ >> 3;
    if (byte >= in_.size() + kPadding) return -1;
    int b = byte < in_.size() ? static_cast<uint8_t>(in_[byte]) >> (7 - (pos_ & 7)) & 1 : 0;
    ++pos_;
    return b;
  }
  // `n` (at most 24) bits, first bit highest; false past the input.
  bool Bits(int n, uint32_t* v) {
    *v = 0;
    for (int i = 0; i < n; ++i) {
      int b = Bit();
      if (b < 0) return false;
      *v = *v << 1 | static_cast<uint32_t>(b);
    }
    return true;
  }

 private:
  std::string_view in_;
  uint64_t pos_ = 0;
};

// A code as ASPack builds it: canonical, lengths 1-15, and complete (its
// codes fill the whole code space), else refused.
bool BuildCode(const uint8_t* lengths, int n, CanonicalCode* code) {
  uint32_t space = 0;
  for (int i = 0; i < n; ++i) {
    if (lengths[i] > kMaxBits) return false;
    if (lengths[i] != 0) space += 1u << (kMaxBits - lengths[i]);
  }
  return space == 1u << kMaxBits && code->Build(lengths, static_cast<size_t>(n));
}

class BlockDecoder {
 public:
  explicit BlockDecoder(std::string_view in) : r_(in) {}

  // Unpacks `size` bytes into `out`; false when the stream is corrupt or
  // ends early (what was written stays).
  bool Decode(char* out, size_t size) {
    if (!ReadTables()) return false;
    uint32_t last[3] = {0, 0, 0};
    size_t pos = 0;
    while (pos < size) {
      int sym = Next(main_);
      if (sym < 0) return false;
      if (sym < 256) {
        out[pos++] = static_cast<char>(sym);
        continue;
      }
      if (sym >= kNewTables) {
        if (!ReadTables()) return false;
        continue;
      }
      const int slot = (sym - 256) >> 3, l = (sym - 256) & 7;
      uint64_t len = static_cast<uint64_t>(l) + 2;
      uint32_t v;
      if (l == 7) {
        int s = Next(length_);
        if (s < 0 || s >= kLengthSymbols || !r_.Bits(kLengthExtra[s], &v)) return false;
        len += kLengthBase[s] + v;
      }
      const int extra = kOffsetExtra[slot];
      uint64_t value = offset_base_[slot];
      if (aligned_on_ && extra >= 3) {
        if (!r_.Bits(extra - 3, &v)) return false;
        int a = Next(aligned_);
        if (a < 0) return false;
        value += static_cast<uint64_t>(v) * 8 + static_cast<uint64_t>(a);
      } else {
        if (!r_.Bits(extra, &v)) return false;
        value += v;
      }
      uint64_t distance;
      if (value < 3) {
        distance = last[value];
        std::swap(last[value], last[0]);
      } else {
        distance = static_cast<uint32_t>(value - 3);  // the loader keeps 32 bits
        last[2] = last[1];
        last[1] = last[0];
        last[0] = static_cast<uint32_t>(distance);
      }
      distance += 1;
      if (distance > pos || len > size - pos) return false;
      for (uint64_t i = 0; i < len; ++i, ++pos) out[pos] = out[pos - distance];
    }
    return true;
  }

 private:
  int Next(const CanonicalCode& code) {
    bool eof = false;
    int sym = code.Decode([&] {
      int b = r_.Bit();
      if (b < 0) eof = true;
      return b < 0 ? 0 : b;
    });
    return eof ? -1 : sym;
  }

  bool ReadTables() {
    uint32_t keep;
    if (!r_.Bits(1, &keep)) return false;
    if (!keep) previous_.fill(0);
    uint8_t pre_lengths[kPreSymbols];
    for (uint8_t& len : pre_lengths) {
      uint32_t v;
      if (!r_.Bits(4, &v)) return false;
      len = static_cast<uint8_t>(v);
    }
    CanonicalCode pre;
    if (!BuildCode(pre_lengths, kPreSymbols, &pre)) return false;
    std::array<uint8_t, kAllLengths> lengths{};
    int i = 0;
    while (i < kAllLengths) {
      int sym = Next(pre);
      if (sym < 0) return false;
      uint32_t n;
      if (sym < 16) {
        lengths[i] = static_cast<uint8_t>((previous_[i] + sym) & 0xF);
        ++i;
        continue;
      }
      uint8_t fill = 0;
      if (sym == 16) {
        if (!r_.Bits(2, &n)) return false;
        n += 3;
        fill = i > 0 ? lengths[i - 1] : 0;
      } else if (sym == 17) {
        if (!r_.Bits(3, &n)) return false;
        n += 3;
      } else {
        if (!r_.Bits(7, &n)) return false;
        n += 11;
      }
      for (; n > 0 && i < kAllLengths; --n) lengths[i++] = fill;
    }
    if (!BuildCode(lengths.data(), kMainSymbols, &main_) ||
        !BuildCode(lengths.data() + kMainSymbols, kLengthSymbols, &length_) ||
        !BuildCode(lengths.data() + kMainSymbols + kLengthSymbols, kAlignedSymbols, &aligned_))
      return false;
    aligned_on_ = false;
    for (int k = 0; k < kAlignedSymbols; ++k) aligned_on_ |= lengths[kMainSymbols + kLengthSymbols + k] != 3;
    previous_ = lengths;
    return true;
  }

  static std::array<uint32_t, 58> OffsetBases() {
    std::array<uint32_t, 58> b{};
    uint32_t sum = 0;
    for (int i = 0; i < 58; ++i) {
      b[i] = sum;
      sum += 1u << kOffsetExtra[i];
    }
    return b;
  }

  BitReader r_;
  CanonicalCode main_, length_, aligned_;
  bool aligned_on_ = false;
  std::array<uint8_t, kAllLengths> previous_{};
  const std::array<uint32_t, 58> offset_base_ = OffsetBases();
};

// Undoes the call filter on the first block (see the header comment).
void UndoCallFilter(char* block, size_t size, char mark) {
  if (size <= 7) return;
  for (size_t i = 0; i < size - 6; ++i) {
    const auto op = static_cast<uint8_t>(block[i]);
    if ((op != 0xE8 && op != 0xE9) || block[i + 1] != mark) continue;
    uint32_t w = Le32(block + i + 1) >> 8;
    PutLe32(block + i + 1, w - static_cast<uint32_t>(i));
    i += 4;
  }
}

// The file offset of address `va`, or SIZE_MAX when no section's raw data
// holds it.
size_t FileOffset(const std::vector<PeSection>& secs, uint32_t va, size_t file_size) {
  for (const PeSection& s : secs) {
    if (va < s.va || va - s.va >= s.rsize) continue;
    uint64_t off = static_cast<uint64_t>(s.raw) + (va - s.va);
    if (off < file_size) return static_cast<size_t>(off);
  }
  return SIZE_MAX;
}

}  // namespace

Status ReadAspack(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  if (!PeAt(data, 0)) return Status::Ok();
  const size_t pe = Le32(data.data() + 0x3C);
  std::vector<PeSection> secs;
  if (!ReadPeSections(data, pe, &secs) || secs.size() < 3 || !Has(data.size(), pe, 24 + 0x28))
    return Status::Ok();
  const uint32_t ep = Le32(data.data() + pe + 24 + 16);
  const size_t ep_off = FileOffset(secs, ep, data.size());
  static constexpr char kStart[] = "\x60\xE8\x03\x00\x00\x00\xE9\xEB";
  static constexpr char kMarker[] = "\x68\x00\x00\x00\x00\xC3";
  if (ep == 0 || ep_off == SIZE_MAX || !Has(data.size(), ep_off, 8) || std::memcmp(data.data() + ep_off, kStart, 8) != 0)
    return Status::Ok();
  const Version* version = nullptr;
  for (const Version& v : kVersions) {
    if (Has(data.size(), ep_off + v.marker, 6) && std::memcmp(data.data() + ep_off + v.marker, kMarker, 6) == 0) {
      version = &v;
      break;
    }
  }
  if (version == nullptr) return Status::Ok();  // another packer with the same start, or another ASPack

  // The image as the loader sees it: each section's raw data at its address.
  uint64_t image_size = 0;
  for (const PeSection& s : secs) {
    uint64_t raw = s.raw < data.size() ? std::min<uint64_t>(s.rsize, data.size() - s.raw) : 0;
    image_size = std::max<uint64_t>(image_size, static_cast<uint64_t>(s.va) + std::max<uint64_t>(s.vsize, raw));
  }
  const std::string tag = std::string("aspack ") + version->name + ": ";
  if (image_size > ctx.budget.MemberCap()) {
    ctx.sink.LimitExceeded(ctx.budget.Grow(image_size));
    return Status::Ok();
  }
  if (!ctx.Admit(image_size)) {
    if (ctx.budget.exhausted()) *stop = true;
    return Status::Ok();
  }
  MemberBuffer buf(ctx.budget);
  size_t got = 0;
  LimitHit hit = LimitHit::kNone;
  char* image = buf.Extend(static_cast<size_t>(image_size), &got, &hit);
  if (image == nullptr || got != image_size) {
    ctx.sink.LimitExceeded(hit == LimitHit::kNone ? ctx.budget.Grow(image_size) : hit);
    return Status::Ok();
  }
  const size_t size = static_cast<size_t>(image_size);
  for (const PeSection& s : secs) {
    if (s.raw >= data.size()) continue;
    uint64_t n = std::min<uint64_t>({s.rsize, data.size() - s.raw, size - s.va});
    std::memcpy(image + s.va, data.data() + s.raw, static_cast<size_t>(n));
  }
  // The loader's data is read from the image (the loader may span sections).
  const uint64_t base = ep - 1;
  auto at = [&](uint64_t off, uint64_t n) -> const char* {
    return Has(size, base + off, n) ? image + base + off : nullptr;
  };
  const char* oep_p = at(version->oep, 4);
  const char* mark_p = at(version->mark, 1);
  if (oep_p == nullptr || mark_p == nullptr) {
    ctx.sink.Warn(tag + "the loader is truncated; not unpacked");
    return Status::Ok();
  }
  const uint32_t oep = Le32(oep_p);
  const char mark = *mark_p;

  // The blocks, unpacked in place one after the other.
  bool ok = true, first = true;
  std::string packed;
  uint64_t entry = version->blocks;
  for (int count = 0;; ++count) {
    const char* e = at(entry, 8);
    if (e == nullptr || count >= 1024) {
      ok = false;
      break;
    }
    const uint32_t rva = Le32(e), bsize = Le32(e + 4);
    if (rva == 0) break;
    entry += version->entry_size;
    if (version->entry_size != 8 && bsize == 0xFFFFFEF2u) continue;  // not a block
    if (bsize == 0 || !Has(size, rva, bsize)) {
      ok = false;
      break;
    }
    packed.assign(image + rva, bsize);
    if (!BlockDecoder(packed).Decode(image + rva, bsize)) {
      ok = false;
      break;
    }
    if (first) UndoCallFilter(image + rva, bsize, mark);
    first = false;
    if (ctx.Stopped()) return Status::Ok();
  }
  if (!ok) ctx.sink.Warn(tag + "a block is truncated or corrupt; scanning what unpacked");

  // The PE image: the original headers with the loader's sections dropped,
  // every section's raw data at its address, the original entry point.
  size_t n = secs.size();
  if (n > 2 && base == secs[n - 2].va && secs[n - 1].rsize == 0) n -= 2;
  const uint16_t opt_size = Le16(data.data() + pe + 20);
  const uint64_t table = pe + 24 + opt_size, header_end = table + 40 * n;
  uint32_t first_va = UINT32_MAX, end = 0;
  for (size_t i = 0; i < n; ++i) {
    first_va = std::min(first_va, secs[i].va);
    end = std::max<uint32_t>(end, static_cast<uint32_t>(std::min<uint64_t>(
                                      size, static_cast<uint64_t>(secs[i].va) + std::max(secs[i].vsize, 1u))));
  }
  if (header_end > first_va || header_end > data.size() || end < header_end) {
    ctx.sink.Warn(tag + "no room for the PE headers in the image; scanning it as it is");
    if (!ctx.sink.Member("aspack-image", std::string_view(image, size), MemberKind::kFile)) *stop = true;
    return Status::Ok();
  }
  std::memcpy(image, data.data(), static_cast<size_t>(header_end));
  char* fh = image + pe;
  fh[6] = static_cast<char>(n);
  fh[7] = static_cast<char>(n >> 8);
  if (opt_size >= 20) PutLe32(fh + 24 + 16, oep);
  if (opt_size >= 60) PutLe32(fh + 24 + 56, end);  // SizeOfImage
  for (size_t i = 0; i < n; ++i) {
    char* s = image + table + 40 * i;
    const uint32_t vsize = static_cast<uint32_t>(std::min<uint64_t>(std::max(secs[i].vsize, 1u), end - secs[i].va));
    PutLe32(s + 16, vsize);      // SizeOfRawData
    PutLe32(s + 20, secs[i].va);  // PointerToRawData
  }
  if (!ctx.sink.Member("aspack-unpacked", std::string_view(image, end), MemberKind::kFile)) *stop = true;
  return Status::Ok();
}

}  // namespace vigil::unpack
