// PESpin-protected PE files (PESpin 1.x, 32-bit Windows), decrypted and
// decompressed into a rebuilt PE image. Written from ClamAV's description
// of the format (libclamav's PESpin support: its entry point pattern, the
// offsets, lengths and keys of the loader's encrypted parts, the two
// section ciphers, the file checksum that gives their key, the bitmaps
// saying which sections are encrypted or compressed) and of the aPLib
// compression format (Joergen Ibsen's aPLib documentation and the open
// depackers written from it); checked on clamav-testfiles' clam-pespin.exe,
// whose decrypted keys match those clamscan reports and whose unpacked code
// section carries clam.exe.
//
// Layout. PESpin appends a last section holding its loader; the entry
// point is in it, and 4 bytes after the entry point come
// E8 00000000 8B 1C 24 83 C3 (call $+5; mov ebx, [esp]; add ebx, ..). Below,
// "L + x" is the byte x past the entry point (all inside that section, which
// must reach past L + 0x321B). The loader is undone in steps:
//   1. L + 0xDB is BB (mov ebx, imm): its first byte is an 8-bit key k; at
//      L + 0xE0, B9 (mov ecx, imm) with the length 0x11FE. The length bytes
//      ending at L + 0x1FE5 + length - 1 are xored with k, walking
//      backwards, k one less after each byte.
//   2. u32 key at L + 0x26EB, length 0x5A0 at L + 0x26F0: the bytes from
//      L + 0x2D5 are xored with the low byte of a shift register stepped
//      before each byte (shifted right; 0x8C328834 xored in when the bit
//      shifted out was 1).
//   3. The key of the program's sections: the u32 at L + 0x3217 minus a
//      checksum of the file as it was packed (before steps 1-2) over its
//      first size - u32(L + 0x429) bytes. The checksum runs two 32-bit
//      registers a = b = 0xFFFFFFFF; for each byte c: a ^= c << 8, a = a >> 3
//      (29 bits), then four rounds of { a ^= (b >> 8) & 0xFF;
//      a += 0x7801A108; a ^= b; a = ror(a, b & 31); swap(a, b) }; the
//      result is b.
//   4. The u32 bitmap at L + 0x3207 (after steps 1-2): each section i (all
//      but the loader's; bit i) whose bit is set is xored, from the key of
//      step 3 for each section, with a shift register stepped before each
//      byte: shifted right, 0xED43AF31 xored in when the bit shifted out
//      was 0.
//   5. Length 0x180 at L + 0x644, u32 key at L + 0x650: the bytes from
//      L + 0x28D3 are xored as in step 2 with 0xED43AF32.
//   6. Length 0x1A1 at L + 0x28DD; the 0x24 bytes from L + 0x28EC (ending
//      with AA, stosb) are a polymorphic decryptor of one byte (al) with a
//      counter (cl: the number of bytes left, low 8 bits): add/sub/xor al
//      with cl or a constant, inc/dec al, rol/ror al by a constant, and junk
//      (nop, clc, stc, short jumps, or of registers other than al). It
//      decrypts the length bytes from L + 0x6D4.
//   7. Those bytes hold a second bitmap (u32 at L + 0x6F1) and decryptor
//      (L + 0x755, same form): each section whose bit is set is decrypted
//      with it, the counter starting at its raw size.
//   8. The u32 bitmap at L + 0x3061: each section whose bit is set is an
//      aPLib stream unpacking to its virtual size. The u32 at L + 0x2FEE,
//      when not 0, is the address from which the section holding it (if
//      not already compressed) is an aPLib stream: the resources' tail.
// aPLib streams are decoded by aplib.h.
//
// The result is one member ("pespin-unpacked"): new PE headers (the image
// base and resource directory of the packed file, the entry point at the
// first section: the original one is not recovered) and the program's
// sections, decrypted and unpacked, without the loader's section. Password
// protected files (a flag in the loader) are not handled: their sections
// come out wrong, as in clamscan.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "match/exe.h"
#include "unpack/aplib.h"
#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

using match::PeSection;
using match::ReadPeSections;

bool Has(uint64_t size, uint64_t off, uint64_t n) { return off <= size && size - off >= n; }

// How far the loader's section must reach past the entry point.
constexpr uint32_t kLoaderSpan = 0x3217 + 4;
constexpr char kEntryPattern[] = "\xE8\x00\x00\x00\x00\x8B\x1C\x24\x83\xC3";

// The shift register of steps 2, 4 and 5: stepped, then its low byte is the
// key byte. `when_one`: whether `poly` goes in when the bit shifted out is
// 1 (else when it is 0).
void XorStream(char* p, size_t n, uint32_t key, uint32_t poly, bool when_one) {
  for (size_t i = 0; i < n; ++i) {
    const bool out = (key & 1u) != 0;
    key >>= 1;
    if (out == when_one) key ^= poly;
    p[i] = static_cast<char>(static_cast<uint8_t>(p[i]) ^ (key & 0xFFu));
  }
}

// The checksum of step 3 over `n` bytes at `p`.
uint32_t Checksum(const char* p, size_t n) {
  uint32_t a = 0xFFFFFFFFu, b = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    a ^= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << 8;
    a = a >> 3 & 0x1FFFFFFFu;
    for (int r = 0; r < 4; ++r) {
      a ^= b >> 8 & 0xFFu;
      a += 0x7801A108u;
      a ^= b;
      const unsigned s = b & 31u;
      if (s != 0) a = a >> s | a << (32 - s);
      std::swap(a, b);
    }
  }
  return b;
}

// One step of a polymorphic decryptor: what it does to al.
struct Op {
  enum Kind : uint8_t { kAddCl, kSubCl, kXorCl, kAdd, kSub, kXor, kRol, kRor } kind;
  uint8_t imm;
};

constexpr size_t kPolyLength = 0x24;

// The steps of the decryptor at p[0, kPolyLength] (its AA included),
// following its jumps; false for an instruction outside the set, a jump
// out of the code, or code not ending exactly at the AA.
bool ReadPoly(const char* p, std::vector<Op>* ops) {
  ops->clear();
  auto at = [p](size_t j) { return static_cast<uint8_t>(p[j]); };
  size_t j = 0;
  for (int steps = 0; j < kPolyLength; ++steps) {
    if (steps > static_cast<int>(4 * kPolyLength)) return false;  // jumps going round
    const uint8_t op = at(j);
    const size_t left = kPolyLength - j;  // bytes up to the AA
    auto need = [left](size_t n) { return n <= left; };
    switch (op) {
      case 0x90:  // nop
      case 0xF8:  // clc
      case 0xF9:  // stc
        j += 1;
        break;
      case 0xEB: {  // jmp short, forward only
        if (!need(2)) return false;
        const auto disp = static_cast<int8_t>(at(j + 1));
        if (disp < 0) return false;
        j += 2 + static_cast<size_t>(disp);
        break;
      }
      case 0x0A: {  // or r8, r8: junk unless it writes al or cl
        if (!need(2)) return false;
        const uint8_t m = at(j + 1), reg = m >> 3 & 7;
        if ((m & 0xC0) != 0xC0 || (m != 0xC0 && reg <= 1)) return false;
        j += 2;
        break;
      }
      case 0x02:  // 02 C1: add al, cl
      case 0x2A:  // 2A C1: sub al, cl
      case 0x32:  // 32 C1: xor al, cl
        if (!need(2) || at(j + 1) != 0xC1) return false;
        ops->push_back({op == 0x02 ? Op::kAddCl : op == 0x2A ? Op::kSubCl : Op::kXorCl, 0});
        j += 2;
        break;
      case 0x04:  // add al, imm8
      case 0x2C:  // sub al, imm8
      case 0x34:  // xor al, imm8
        if (!need(2)) return false;
        ops->push_back({op == 0x04 ? Op::kAdd : op == 0x2C ? Op::kSub : Op::kXor, at(j + 1)});
        j += 2;
        break;
      case 0xFE:  // FE C0: inc al; FE C8: dec al
        if (!need(2) || (at(j + 1) != 0xC0 && at(j + 1) != 0xC8)) return false;
        ops->push_back({at(j + 1) == 0xC0 ? Op::kAdd : Op::kSub, 1});
        j += 2;
        break;
      case 0xC0:  // C0 C0 imm8: rol al, imm8; C0 C8 imm8: ror al, imm8
        if (!need(3) || (at(j + 1) != 0xC0 && at(j + 1) != 0xC8)) return false;
        ops->push_back({at(j + 1) == 0xC0 ? Op::kRol : Op::kRor, static_cast<uint8_t>(at(j + 2) & 7u)});
        j += 3;
        break;
      default:
        return false;
    }
  }
  return j == kPolyLength && at(kPolyLength) == 0xAA;
}

uint8_t Rol(uint8_t v, unsigned n) {
  n &= 7;
  return static_cast<uint8_t>(n == 0 ? v : (v << n | v >> (8 - n)));
}

// Runs the decryptor over `n` bytes at `p`; cl is the low byte of the
// number of bytes left (n for the first).
void Decrypt(const std::vector<Op>& ops, char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const auto cl = static_cast<uint8_t>(n - i);
    auto al = static_cast<uint8_t>(p[i]);
    for (const Op& op : ops) {
      switch (op.kind) {
        case Op::kAddCl: al = static_cast<uint8_t>(al + cl); break;
        case Op::kSubCl: al = static_cast<uint8_t>(al - cl); break;
        case Op::kXorCl: al ^= cl; break;
        case Op::kAdd: al = static_cast<uint8_t>(al + op.imm); break;
        case Op::kSub: al = static_cast<uint8_t>(al - op.imm); break;
        case Op::kXor: al ^= op.imm; break;
        case Op::kRol: al = Rol(al, op.imm); break;
        case Op::kRor: al = Rol(al, 8 - op.imm); break;
      }
    }
    p[i] = static_cast<char>(al);
  }
}

// A fixed buffer as aplib::Unpack's output.
class Span {
 public:
  explicit Span(char* p) : p_(p) {}
  void push_back(char c) { p_[n_++] = c; }
  size_t size() const { return n_; }
  char operator[](size_t i) const { return p_[i]; }

 private:
  char* p_;
  size_t n_ = 0;
};

// One aPLib stream into out[0, cap) up to its end code; false when it is
// truncated, corrupt or would pass `cap`.
bool Aplib(std::string_view in, char* out, size_t cap) {
  Span span(out);
  size_t pos = 0;
  return aplib::Unpack(in, &pos, cap, span) == aplib::Result::kDone;
}

// One section of the rebuilt image: where its bytes come from and how.
struct Out {
  enum How : uint8_t { kCopy, kUnpack, kResources } how = kCopy;
  uint32_t split = 0;  // kResources: the bytes stored as they are
  uint64_t size = 0;   // its raw size in the rebuilt image
};

uint64_t Align(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

Status ReadPespin(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  if (!PeAt(data, 0)) return Status::Ok();
  const size_t pe = Le32(data.data() + 0x3C);
  std::vector<PeSection> secs;
  if (!ReadPeSections(data, pe, &secs) || secs.size() < 2 || !Has(data.size(), pe, 24 + 0x78)) return Status::Ok();
  const char* opt_hdr = data.data() + pe + 24;
  const uint16_t opt_size =
      static_cast<uint16_t>(static_cast<uint8_t>(data[pe + 20]) | static_cast<uint8_t>(data[pe + 21]) << 8);
  if (static_cast<uint8_t>(opt_hdr[0]) != 0x0B || opt_hdr[1] != 0x01 || opt_size < 0x78) return Status::Ok();  // PE32
  const PeSection& spin = secs.back();
  const uint32_t ep = Le32(opt_hdr + 16);
  if (ep < spin.va) return Status::Ok();
  const uint64_t l_off = ep - spin.va;  // the entry point in the loader's section
  const uint64_t l = static_cast<uint64_t>(spin.raw) + l_off;
  if (!Has(data.size(), l + 4, sizeof kEntryPattern - 1) ||
      std::memcmp(data.data() + l + 4, kEntryPattern, sizeof kEntryPattern - 1) != 0)
    return Status::Ok();
  if (l_off + kLoaderSpan > spin.rsize || !Has(data.size(), spin.raw, spin.rsize)) {
    ctx.sink.Warn("pespin: the loader's section is truncated; not unpacked");
    return Status::Ok();
  }

  // The file decrypted in a copy (as large as the file, already in memory).
  std::string file(data);
  char* L = file.data() + l;
  // Step 1.
  if (static_cast<uint8_t>(L[0xDB]) != 0xBB || static_cast<uint8_t>(L[0xE0]) != 0xB9 || Le32(L + 0xE1) != 0x11FE) {
    ctx.sink.Warn("pespin: unknown loader version; not unpacked");
    return Status::Ok();
  }
  auto key8 = static_cast<uint8_t>(L[0xDC]);
  for (size_t i = 0x1FE5 + 0x11FE; i-- > 0x1FE5; --key8) L[i] = static_cast<char>(static_cast<uint8_t>(L[i]) ^ key8);
  // Step 2.
  if (Le32(L + 0x26F0) != 0x5A0) {
    ctx.sink.Warn("pespin: unknown loader version; not unpacked");
    return Status::Ok();
  }
  XorStream(L + 0x2D5, 0x5A0, Le32(L + 0x26EB), 0x8C328834u, true);
  // Step 3: the checksum of the file as it was.
  const uint32_t unsummed = Le32(L + 0x429);
  if (unsummed == 0 || unsummed > data.size()) {
    ctx.sink.Warn("pespin: the checksummed length is out of the file; not unpacked");
    return Status::Ok();
  }
  const uint32_t key = Le32(L + 0x3217) - Checksum(data.data(), data.size() - unsummed);

  // The program's sections (all but the loader's); the bitmaps cover the
  // first 32.
  const size_t count = secs.size() - 1;
  auto bit = [](uint32_t map, size_t i) { return i < 32 && (map >> i & 1u) != 0; };
  auto in_file = [&](const PeSection& s) { return Has(file.size(), s.raw, s.rsize); };
  // Step 4.
  const uint32_t xor_map = Le32(L + 0x3207);
  for (size_t i = 0; i < count; ++i) {
    if (!bit(xor_map, i)) continue;
    if (!in_file(secs[i])) {
      ctx.sink.Warn("pespin: an encrypted section lies past the end of the file; not unpacked");
      return Status::Ok();
    }
    XorStream(file.data() + secs[i].raw, secs[i].rsize, key, 0xED43AF31u, false);
  }
  // Step 5.
  if (Le32(L + 0x644) != 0x180) {
    ctx.sink.Warn("pespin: unknown loader version; not unpacked");
    return Status::Ok();
  }
  XorStream(L + 0x28D3, 0x180, Le32(L + 0x650), 0xED43AF32u, true);
  // Step 6.
  std::vector<Op> ops;
  if (Le32(L + 0x28DD) != 0x1A1 || !ReadPoly(L + 0x28EC, &ops)) {
    ctx.sink.Warn("pespin: the loader's decryptor is not understood; not unpacked");
    return Status::Ok();
  }
  Decrypt(ops, L + 0x6D4, 0x1A1);
  // Step 7.
  if (!ReadPoly(L + 0x755, &ops)) {
    ctx.sink.Warn("pespin: the sections' decryptor is not understood; not unpacked");
    return Status::Ok();
  }
  const uint32_t poly_map = Le32(L + 0x6F1);
  for (size_t i = 0; i < count; ++i) {
    if (!bit(poly_map, i)) continue;
    if (!in_file(secs[i])) {
      ctx.sink.Warn("pespin: an encrypted section lies past the end of the file; not unpacked");
      return Status::Ok();
    }
    Decrypt(ops, file.data() + secs[i].raw, secs[i].rsize);
  }

  // Step 8: the plan of the rebuilt image, then its bytes.
  const uint32_t packed_map = Le32(L + 0x3061), res_from = Le32(L + 0x2FEE);
  std::vector<Out> plan(count);
  bool res_done = res_from == 0;
  for (size_t i = 0; i < count; ++i) {
    const PeSection& s = secs[i];
    Out& o = plan[i];
    if (bit(packed_map, i)) {
      if (!in_file(s) || s.rsize == 0) {
        ctx.sink.Warn("pespin: a compressed section lies past the end of the file; not unpacked");
        return Status::Ok();
      }
      o.how = Out::kUnpack;
      o.size = s.vsize;
    } else {
      // Raw bytes past the end of the file are not there: the rest is zeros.
      o.size = s.rsize;
      if (!res_done && res_from >= s.va && res_from - s.va < s.vsize && res_from - s.va <= s.rsize && in_file(s)) {
        res_done = true;
        o.how = Out::kResources;
        o.split = res_from - s.va;
        o.size = std::max<uint64_t>(s.vsize, s.rsize);
      }
    }
  }
  constexpr uint64_t kPe = 0x40, kOptional = 0xE0, kTable = kPe + 24 + kOptional;
  const uint64_t headers = Align(kTable + 40 * count, 0x200);
  uint64_t total = headers;
  for (const Out& o : plan) total += Align(o.size, 0x200);
  if (!ctx.Admit(total)) {
    if (ctx.budget.exhausted()) *stop = true;
    return Status::Ok();
  }
  if (total > ctx.budget.MemberCap()) {
    ctx.sink.LimitExceeded(ctx.budget.Grow(total));
    return Status::Ok();
  }
  MemberBuffer buf(ctx.budget);
  size_t got = 0;
  LimitHit hit = LimitHit::kNone;
  char* f = buf.Extend(static_cast<size_t>(total), &got, &hit);
  if (f == nullptr || got != total) {
    ctx.sink.LimitExceeded(hit == LimitHit::kNone ? ctx.budget.Grow(total) : hit);
    return Status::Ok();
  }
  std::memset(f, 0, got);
  uint64_t raw = headers;
  uint64_t image_end = 0;
  const char* names = data.data() + pe + 24 + opt_size;  // the table was read: it is in the file
  for (size_t i = 0; i < count; ++i) {
    const PeSection& s = secs[i];
    const Out& o = plan[i];
    char* to = f + raw;
    // (Never a null view: memcpy of zero bytes from null is undefined.)
    const std::string_view stored = std::string_view(file).substr(std::min<size_t>(s.raw, file.size()), s.rsize);
    if (o.how == Out::kUnpack) {
      if (!Aplib(stored, to, static_cast<size_t>(o.size))) {
        ctx.sink.Warn("pespin: a compressed section is corrupt; not unpacked");
        return Status::Ok();
      }
    } else if (o.how == Out::kResources) {
      // The head as it is; the tail unpacked, or left as it is when it
      // does not unpack (as clamscan goes on then).
      std::memcpy(to, stored.data(), o.split);
      if (!Aplib(stored.substr(o.split), to + o.split, static_cast<size_t>(o.size - o.split))) {
        std::memset(to, 0, static_cast<size_t>(o.size));
        std::memcpy(to, stored.data(), stored.size());
      }
    } else {
      std::memcpy(to, stored.data(), stored.size());
    }
    char* e = f + kTable + 40 * i;
    std::memcpy(e, names + 40 * i, 8);
    PutLe(e + 8, s.vsize, 4);
    PutLe(e + 12, s.va, 4);
    PutLe(e + 16, static_cast<uint32_t>(o.size), 4);
    PutLe(e + 20, static_cast<uint32_t>(raw), 4);
    PutLe(e + 36, 0xE0000060u, 4);  // code, data, read, write, execute
    image_end = std::max<uint64_t>(image_end, static_cast<uint64_t>(s.va) + std::max(s.vsize, s.rsize));
    raw += Align(o.size, 0x200);
  }
  f[0] = 'M';
  f[1] = 'Z';
  PutLe(f + 0x3C, kPe, 4);
  std::memcpy(f + kPe, "PE\0\0", 4);
  PutLe(f + kPe + 4, 0x14C, 2);  // i386
  PutLe(f + kPe + 6, static_cast<uint32_t>(count), 2);
  PutLe(f + kPe + 20, kOptional, 2);
  PutLe(f + kPe + 22, 0x010F, 2);  // executable, 32-bit, stripped
  char* o = f + kPe + 24;
  PutLe(o, 0x10B, 2);
  PutLe(o + 16, secs[0].va, 4);          // the entry point: not recovered
  PutLe(o + 28, Le32(opt_hdr + 28), 4);  // image base
  PutLe(o + 32, 0x1000, 4);              // section alignment
  PutLe(o + 36, 0x200, 4);               // file alignment
  PutLe(o + 40, 4, 2);                   // OS version 4.0
  PutLe(o + 48, 4, 2);                   // subsystem version 4.0
  PutLe(o + 56, static_cast<uint32_t>(std::min<uint64_t>(Align(image_end, 0x1000), 0xFFFFF000u)), 4);
  PutLe(o + 60, static_cast<uint32_t>(headers), 4);
  PutLe(o + 68, 2, 2);  // Windows GUI
  PutLe(o + 92, 16, 4);
  std::memcpy(o + 96 + 2 * 8, opt_hdr + 96 + 2 * 8, 8);  // the resource directory
  if (!ctx.sink.Member("pespin-unpacked", buf.view(), MemberKind::kFile)) *stop = true;
  return Status::Ok();
}

}  // namespace vigil::unpack
