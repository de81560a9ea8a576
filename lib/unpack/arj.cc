// ARJ archives, parsed and decoded by hand (no Debian library reads them),
// after the format notes that come with ARJ and the public descriptions of
// its LZ77 + Huffman coding (the scheme of Okumura's "ar002", as in LHA).
//
// An archive is a sequence of headers, each: 0x60 0xEA, u16 basic header
// size (0 ends the archive), the basic header, u32 CRC, then extended
// headers (u16 size, bytes, u32 CRC) until a size of 0. The first header
// describes the archive; each later one a file, whose compressed data
// follows its headers. Basic header: u8 first-header size, archiver version,
// minimum version, host OS, flags (0x01: garbled, i.e. encrypted), method
// (0 stored, 1-3 compressed, 4 compressed "fastest"), file type, reserved;
// u32 time, compressed size, original size, CRC; u16 file-spec position,
// access mode, host data; then, from the first-header size on, the file
// name and comment (NUL-terminated). Little-endian throughout.
//
// Methods 1-3: blocks of Huffman-coded literals/lengths and positions over a
// 26,624-byte window (here: the whole output, which is kept anyway).
// Method 4: lengths and positions in a simple unary-prefixed code.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "unpack/canonical_code.h"
#include "unpack/unpack.h"

namespace vigil::unpack {
namespace {

constexpr uint8_t kMagic0 = 0x60, kMagic1 = 0xEA;
constexpr size_t kMaxBasicHeader = 2600;
constexpr uint8_t kFlagGarbled = 0x01;

// Coding constants of methods 1-3.
constexpr int kThreshold = 3;
constexpr int kNc = 255 + 256 + 2 - kThreshold;  // literals and lengths: 510
constexpr int kNp = 17;                          // position codes
constexpr int kNt = 19;                          // code-length codes
constexpr int kCBit = 9, kPBit = 5, kTBit = 5;
constexpr int kMaxCodeLength = CanonicalCode::kMaxLength;

// MSB-first bit reader over the compressed bytes; reads past the end as
// zeros and remembers that it did.
class Bits {
 public:
  explicit Bits(std::string_view in) : in_(in) {}
  uint32_t Peek(int n) {
    Fill(n);
    return static_cast<uint32_t>(buf_ >> (count_ - n)) & ((1u << n) - 1);
  }
  void Skip(int n) {
    Fill(n);
    count_ -= n;
  }
  uint32_t Get(int n) {
    if (n == 0) return 0;
    uint32_t v = Peek(n);
    Skip(n);
    return v;
  }
  bool overrun() const { return overrun_; }

 private:
  void Fill(int n) {
    while (count_ < n) {
      uint8_t b = 0;
      if (pos_ < in_.size()) b = static_cast<uint8_t>(in_[pos_++]);
      else overrun_ = true;
      buf_ = buf_ << 8 | b;
      count_ += 8;
    }
  }
  std::string_view in_;
  size_t pos_ = 0;
  uint64_t buf_ = 0;
  int count_ = 0;
  bool overrun_ = false;
};

// A code of the block's tables: canonical (canonical_code.h), or one
// symbol and no bits when the table is all one value.
class Huffman {
 public:
  // False when the lengths do not form a usable code.
  bool Build(const uint8_t* lengths, int n) {
    single_ = -1;
    return code_.Build(lengths, static_cast<size_t>(n)) && !code_.empty();
  }
  void Single(int symbol) { single_ = symbol; }
  // The next symbol, or -1 when the bits match no code.
  int Decode(Bits* b) const {
    if (single_ >= 0) return single_;
    return code_.Decode([b] { return b->Get(1); });
  }

 private:
  CanonicalCode code_;
  int single_ = -1;
};

// Code lengths of the code-length code (kNt) or the position code (kNp).
bool ReadPtLengths(Bits* b, int nn, int nbit, int special, Huffman* h, uint8_t* lengths) {
  int n = static_cast<int>(b->Get(nbit));
  if (n == 0) {
    int c = static_cast<int>(b->Get(nbit));
    if (c >= nn) return false;
    std::fill(lengths, lengths + nn, 0);
    h->Single(c);
    return true;
  }
  if (n > nn) return false;
  int i = 0;
  while (i < n) {
    int c = static_cast<int>(b->Peek(3));
    if (c == 7) {
      b->Skip(3);
      while (b->Get(1) == 1) {
        if (++c > kMaxCodeLength) return false;
      }
    } else {
      b->Skip(3);
    }
    lengths[i++] = static_cast<uint8_t>(c);
    if (i == special) {
      int zeros = static_cast<int>(b->Get(2));
      while (zeros-- > 0 && i < nn) lengths[i++] = 0;
    }
  }
  while (i < nn) lengths[i++] = 0;
  return h->Build(lengths, nn);
}

// Code lengths of the literal/length code, coded with the code-length code.
bool ReadCLengths(Bits* b, const Huffman& pt, Huffman* c_code, uint8_t* lengths) {
  int n = static_cast<int>(b->Get(kCBit));
  if (n == 0) {
    int c = static_cast<int>(b->Get(kCBit));
    if (c >= kNc) return false;
    std::fill(lengths, lengths + kNc, 0);
    c_code->Single(c);
    return true;
  }
  if (n > kNc) return false;
  int i = 0;
  while (i < n) {
    int c = pt.Decode(b);
    if (c < 0) return false;
    if (c <= 2) {
      int zeros = c == 0 ? 1 : c == 1 ? static_cast<int>(b->Get(4)) + 3 : static_cast<int>(b->Get(kCBit)) + 20;
      while (zeros-- > 0 && i < kNc) lengths[i++] = 0;
    } else {
      lengths[i++] = static_cast<uint8_t>(c - 2);
    }
  }
  while (i < kNc) lengths[i++] = 0;
  return c_code->Build(lengths, kNc);
}

enum class Decoded { kOk, kCorrupt, kOverLimit };

// Copies `len` bytes from `dist` + 1 back (what was never written reads as 0).
bool CopyMatch(MemberBuffer* out, size_t dist, int len, size_t want, LimitHit* hit) {
  for (int k = 0; k < len && out->size() < want; ++k) {
    size_t have = out->size();
    char c = dist + 1 <= have ? out->view()[have - dist - 1] : '\0';
    if (!out->Append(&c, 1, hit)) return false;
  }
  return true;
}

Decoded DecodeMethod1to3(std::string_view in, size_t want, MemberBuffer* out, LimitHit* hit) {
  Bits b(in);
  Huffman pt, c_code, p_code;
  std::array<uint8_t, kNc> c_len{};
  std::array<uint8_t, kNt> t_len{};
  std::array<uint8_t, kNp> p_len{};
  uint32_t block = 0;
  while (out->size() < want) {
    if (b.overrun()) return Decoded::kCorrupt;
    if (block == 0) {
      block = b.Get(16);
      if (block == 0) return Decoded::kCorrupt;
      if (!ReadPtLengths(&b, kNt, kTBit, 3, &pt, t_len.data()) ||
          !ReadCLengths(&b, pt, &c_code, c_len.data()) ||
          !ReadPtLengths(&b, kNp, kPBit, -1, &p_code, p_len.data()))
        return Decoded::kCorrupt;
    }
    --block;
    int c = c_code.Decode(&b);
    if (c < 0) return Decoded::kCorrupt;
    if (c <= 255) {
      char ch = static_cast<char>(c);
      if (!out->Append(&ch, 1, hit)) return Decoded::kOverLimit;
      continue;
    }
    int len = c - (256 - kThreshold);
    int p = p_code.Decode(&b);
    if (p < 0) return Decoded::kCorrupt;
    size_t dist = p == 0 ? 0 : (size_t{1} << (p - 1)) + b.Get(p - 1);
    if (!CopyMatch(out, dist, len, want, hit)) return Decoded::kOverLimit;
  }
  return Decoded::kOk;
}

// Method 4: a length (0: a literal byte follows) and a position, each a
// unary prefix choosing how many more bits follow.
Decoded DecodeMethod4(std::string_view in, size_t want, MemberBuffer* out, LimitHit* hit) {
  Bits b(in);
  auto unary = [&](int start, int stop) {
    int width = start, plus = 0;
    while (width < stop && b.Get(1) == 1) {
      plus += 1 << width;
      ++width;
    }
    return plus + static_cast<int>(b.Get(width));
  };
  while (out->size() < want) {
    if (b.overrun()) return Decoded::kCorrupt;
    int len = unary(0, 7);
    if (len == 0) {
      char ch = static_cast<char>(b.Get(8));
      if (!out->Append(&ch, 1, hit)) return Decoded::kOverLimit;
      continue;
    }
    size_t dist = static_cast<size_t>(unary(9, 13));
    if (!CopyMatch(out, dist, len - 1 + kThreshold, want, hit)) return Decoded::kOverLimit;
  }
  return Decoded::kOk;
}

uint32_t Le(std::string_view d, size_t off, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(d[off + static_cast<size_t>(i)]);
  return v;
}

}  // namespace

bool LooksLikeArj(std::string_view d) {
  if (d.size() < 4 + 30 || static_cast<uint8_t>(d[0]) != kMagic0 || static_cast<uint8_t>(d[1]) != kMagic1)
    return false;
  uint32_t size = Le(d, 2, 2);
  uint8_t first = static_cast<uint8_t>(d[4]);
  return size >= 30 && size <= kMaxBasicHeader && first >= 30 && first <= size && d[4 + 6] == 2;  // main header
}

Status ReadArj(std::string_view data, Context& ctx) {
  if (!LooksLikeArj(data)) return Status::Ok();
  size_t p = 0;
  bool main_header = true;
  int index = 0;
  while (p < data.size() && !ctx.Stopped()) {
    if (data.size() - p < 4 || static_cast<uint8_t>(data[p]) != kMagic0 ||
        static_cast<uint8_t>(data[p + 1]) != kMagic1) {
      ctx.sink.Warn("arj: no header at " + std::to_string(p));
      break;
    }
    const uint32_t size = Le(data, p + 2, 2);
    if (size == 0) break;  // end of archive
    const size_t basic = p + 4;
    if (size > kMaxBasicHeader || size < 30 || data.size() - basic < size + 4) {
      ctx.sink.Warn("arj: bad header at " + std::to_string(p));
      break;
    }
    std::string_view h = data.substr(basic, size);
    size_t q = basic + size + 4;  // past the header's CRC
    // Extended headers.
    while (true) {
      if (data.size() - q < 2) {
        q = data.size();
        break;
      }
      uint32_t ext = Le(data, q, 2);
      q += 2;
      if (ext == 0) break;
      if (data.size() - q < ext + 4) {
        q = data.size();
        break;
      }
      q += ext + 4;
    }
    const uint8_t first = static_cast<uint8_t>(h[0]);
    const uint8_t flags = static_cast<uint8_t>(h[4]), method = static_cast<uint8_t>(h[5]);
    const uint32_t packed = Le(h, 12, 4), original = Le(h, 16, 4);
    std::string name;
    if (first < h.size()) {
      std::string_view rest = h.substr(first);
      name.assign(rest.substr(0, rest.find('\0')));
    }
    if (main_header) {  // the archive's own header: no data follows
      main_header = false;
      p = q;
      continue;
    }
    ++index;
    if (name.empty()) name = "file-" + std::to_string(index);
    std::string_view stored = data.substr(std::min(q, data.size()), packed);
    p = q + std::min<size_t>(packed, data.size() - std::min(q, data.size()));
    if (stored.size() < packed) ctx.sink.Warn("arj: " + name + " is truncated");
    if (flags & kFlagGarbled) {
      ctx.sink.Encrypted("ARJ");
      continue;
    }
    if (!ctx.Admit(original)) {
      if (ctx.budget.exhausted()) break;
      continue;
    }
    if (method == 0) {
      if (!ctx.sink.Member(name, stored.substr(0, original), MemberKind::kFile)) break;
      continue;
    }
    if (method > 4) {
      ctx.sink.Warn("arj: " + name + ": unknown method " + std::to_string(method));
      continue;
    }
    MemberBuffer out(ctx.budget);
    LimitHit hit = LimitHit::kNone;
    Decoded r = method == 4 ? DecodeMethod4(stored, original, &out, &hit)
                            : DecodeMethod1to3(stored, original, &out, &hit);
    if (r == Decoded::kOverLimit) {
      ctx.sink.LimitExceeded(hit);
      continue;
    }
    if (r == Decoded::kCorrupt) ctx.sink.Warn("arj: " + name + " is corrupt; scanning what decoded");
    if (!ctx.sink.Member(name, out.view(), MemberKind::kFile)) break;
  }
  return Status::Ok();
}

}  // namespace vigil::unpack
