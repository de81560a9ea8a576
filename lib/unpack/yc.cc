// PE files encrypted by yoda's Crypter (yC 1.x, 32-bit Windows), decrypted
// back into the file they were made from. Written from ClamAV's description
// of the format (libclamav's yC support: the entry point patterns of its
// three loader variants, the offsets of the two decryptors and of the
// original entry point, the sections left alone), checked on
// clamav-testfiles' clam-yc.exe (whose decrypted file is UPX-packed: the
// UPX reader then unpacks the result).
//
// Layout. The crypter appends a last section (named "yC" in practice)
// whose loader starts 0x60 bytes into it, at the entry point. Three loader
// variants are known; each is recognised by fixed bytes around the entry
// point and gives the length of its encrypted body and where the loader
// data sits relative to the section's raw data (the "loader base": raw + 0,
// + 0x10 or - 0x18):
//   A: 55 8B EC 53 56 57 60 E8 00000000 5D 81 ED <a> B9 <b> 81 E9 <c>
//      8B D5 81 C2 <d> 8D 3A 8B F7 33 C0 EB 04 90 EB 01 C2 AC, where
//      0x6C - a + d = 0xC6; length b - c, base + 0;
//   B: 55 8B EC 83 EC 40 53 56 57, at +0x17 E8 00000000 5D 81 ED <a>, at
//      +0x23 B9 <b> .. <c> at +0x2A, <d> at +0x32 with 0x6C - a + d = 0xC6;
//      length b - c, base + 0x10;
//   C: 60 E8 00000000 5D 81 ED <a> B9 <b>, 8D BD at +0x12, <d> at +0x14,
//      8B F7 AC at +0x18, 0x66 - a + d = 0xAE; length b, base - 0x18.
// In all of them the bytes AA E2 CC (stosb; loop) end the first decryptor,
// at entry point + 0x63 + the base's offset; the length is 0x801-0x1FFF.
// Both decryptors are 0x30 bytes of polymorphic code that turns one byte
// (al) with a counter (cl, the low byte of the length, one less for each
// byte): add/sub/xor al with cl or a constant, dec al, rol/ror al by cl or
// a constant, nops, clc/stc and short jumps. The first, at base + 0x93,
// decrypts the loader's body (length bytes from base + 0xC6); the second,
// at base + 0x457 (+ 0x3EA in variant C) in the decrypted body, decrypts
// each earlier section's raw data, except sections without raw data and
// those whose name starts with "rsrc", ".rsr", "relo", ".rel", ".eda",
// ".rda", ".ida", ".tls" or "yC". The original entry point is the 32-bit
// word at base + 0xA0F of the decrypted body. The result is the file
// without the crypter's section (its raw size cut from the end), the
// section count one less, the import directory cleared (the crypter's
// own), the entry point and SizeOfImage restored.
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

// One step of a decryptor: what it does to al.
struct Op {
  enum Kind : uint8_t { kAddCl, kSubCl, kXorCl, kAdd, kSub, kXor, kRolCl, kRorCl, kRol, kRor } kind;
  uint8_t imm;
};

constexpr int kDecryptorLength = 0x30;

// The steps of the decryptor at `at` in `buf`, following its jumps; false
// for an instruction outside the crypter's set, bytes past the buffer or
// endless jumps. The steps do not depend on the data, so they are read once.
bool ReadDecryptor(const char* buf, size_t size, uint64_t at, std::vector<Op>* ops) {
  ops->clear();
  auto byte = [&](int64_t j, uint8_t* b) {
    if (j < 0 || !Has(size, at + static_cast<uint64_t>(j), 1)) return false;
    *b = static_cast<uint8_t>(buf[at + static_cast<uint64_t>(j)]);
    return true;
  };
  int64_t j = 0;
  for (int steps = 0; j >= 0 && j < kDecryptorLength; ++steps) {
    if (steps > 4 * kDecryptorLength) return false;  // jumps going round
    uint8_t op, b1, b2;
    if (!byte(j, &op)) return false;
    switch (op) {
      case 0x90:  // nop
      case 0xF8:  // clc
      case 0xF9:  // stc
        j += 1;
        break;
      case 0xEB:  // jmp short
        if (!byte(j + 1, &b1)) return false;
        j += 2 + static_cast<int8_t>(b1);
        break;
      case 0xFE:  // FE C8: dec al
        if (!byte(j + 1, &b1)) return false;
        ops->push_back({Op::kSub, 1});
        j += 2;
        break;
      case 0x02:  // 02 C1: add al, cl
      case 0x2A:  // 2A C1: sub al, cl
      case 0x32:  // 32 C1: xor al, cl
        ops->push_back({op == 0x02 ? Op::kAddCl : op == 0x2A ? Op::kSubCl : Op::kXorCl, 0});
        j += 2;
        break;
      case 0x04:  // add al, imm8
      case 0x2C:  // sub al, imm8
      case 0x34:  // xor al, imm8
        if (!byte(j + 1, &b1)) return false;
        ops->push_back({op == 0x04 ? Op::kAdd : op == 0x2C ? Op::kSub : Op::kXor, b1});
        j += 2;
        break;
      case 0xC0:  // C0 C0 imm8: rol al, imm8; C0 C8 imm8: ror al, imm8
        if (!byte(j + 1, &b1) || !byte(j + 2, &b2)) return false;
        ops->push_back({b1 == 0xC0 ? Op::kRol : Op::kRor, b2});
        j += 3;
        break;
      case 0xD2:  // D2 C0: rol al, cl; D2 C8: ror al, cl
        if (!byte(j + 1, &b1)) return false;
        ops->push_back({b1 == 0xC8 ? Op::kRorCl : Op::kRolCl, 0});
        j += 2;
        break;
      default:
        return false;
    }
  }
  return true;
}

uint8_t Rol(uint8_t v, unsigned n) {
  n &= 7;
  return static_cast<uint8_t>(n == 0 ? v : (v << n | v >> (8 - n)));
}

// Runs the decryptor over `n` bytes at `p`, cl starting at the low byte of
// `count`.
void Decrypt(const std::vector<Op>& ops, char* p, size_t n, uint32_t count) {
  auto cl = static_cast<uint8_t>(count);
  for (size_t i = 0; i < n; ++i, --cl) {
    auto al = static_cast<uint8_t>(p[i]);
    for (const Op& op : ops) {
      switch (op.kind) {
        case Op::kAddCl: al = static_cast<uint8_t>(al + cl); break;
        case Op::kSubCl: al = static_cast<uint8_t>(al - cl); break;
        case Op::kXorCl: al ^= cl; break;
        case Op::kAdd: al = static_cast<uint8_t>(al + op.imm); break;
        case Op::kSub: al = static_cast<uint8_t>(al - op.imm); break;
        case Op::kXor: al ^= op.imm; break;
        case Op::kRolCl: al = Rol(al, cl); break;
        case Op::kRorCl: al = Rol(al, 8 - (cl & 7u)); break;
        case Op::kRol: al = Rol(al, op.imm); break;
        case Op::kRor: al = Rol(al, 8 - (op.imm & 7u)); break;
      }
    }
    p[i] = static_cast<char>(al);
  }
}

// The loader variant at the entry point `ep` (bytes `e`, `n` of them):
// the body's length and the loader base's offset from the section's raw
// data; false when it is none of them.
bool Variant(const char* e, size_t n, uint32_t* length, int* offset) {
  auto at = [&](size_t off, const char* bytes, size_t len) {
    return Has(n, off, len) && std::memcmp(e + off, bytes, len) == 0;
  };
  auto le = [&](size_t off) { return Has(n, off, 4) ? Le32(e + off) : 0u; };
  if (!Has(n, 0, 0x66)) return false;
  if (at(0, "\x55\x8B\xEC\x53\x56\x57\x60\xE8\x00\x00\x00\x00\x5D\x81\xED", 15) &&
      at(0x26, "\x8D\x3A\x8B\xF7\x33\xC0\xEB\x04\x90\xEB\x01\xC2\xAC", 13) && at(0x13, "\xB9", 1) &&
      at(0x18, "\x81\xE9", 2) && at(0x1E, "\x8B\xD5\x81\xC2", 4) && 0x6C - le(0x0F) + le(0x22) == 0xC6) {
    *length = le(0x14) - le(0x1A);
    *offset = 0;
  } else if (at(0, "\x55\x8B\xEC\x83\xEC\x40\x53\x56\x57", 9) && at(0x17, "\xE8\x00\x00\x00\x00\x5D\x81\xED", 8) &&
             at(0x23, "\xB9", 1) && 0x6C - le(0x1F) + le(0x32) == 0xC6) {
    *length = le(0x24) - le(0x2A);
    *offset = 0x10;
  } else if (at(0, "\x60\xE8\x00\x00\x00\x00\x5D\x81\xED", 9) && at(0x0D, "\xB9", 1) && at(0x12, "\x8D\xBD", 2) &&
             at(0x18, "\x8B\xF7\xAC", 3) && 0x66 - le(0x09) + le(0x14) == 0xAE) {
    *length = le(0x0E);
    *offset = -0x18;
  } else {
    return false;
  }
  return at(static_cast<size_t>(0x63 + *offset), "\xAA\xE2\xCC", 3) && *length > 0x800 && *length < 0x2000;
}

// Sections the crypter leaves as they are, by the first bytes of the name.
bool Skipped(const char* name) {
  static constexpr const char* kNames[] = {"rsrc", ".rsr", "relo", ".rel", ".eda", ".rda", ".ida", ".tls"};
  for (const char* n : kNames)
    if (std::memcmp(name, n, 4) == 0) return true;
  return name[0] == 'y' && name[1] == 'C';
}

}  // namespace

Status ReadYc(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  if (!PeAt(data, 0)) return Status::Ok();
  const size_t pe = Le32(data.data() + 0x3C);
  std::vector<PeSection> secs;
  if (!ReadPeSections(data, pe, &secs) || secs.size() < 2 || !Has(data.size(), pe, 24 + 0x3C)) return Status::Ok();
  const uint16_t opt_size = static_cast<uint16_t>(static_cast<uint8_t>(data[pe + 20]) | static_cast<uint8_t>(data[pe + 21]) << 8);
  if (static_cast<uint8_t>(data[pe + 24]) != 0x0B || data[pe + 25] != 0x01 || opt_size < 0x70) return Status::Ok();  // PE32
  const PeSection& yc = secs.back();
  const uint32_t ep = Le32(data.data() + pe + 24 + 16);
  if (ep != yc.va + 0x60 || yc.rsize <= 0x60 || !Has(data.size(), yc.raw, 0x60)) return Status::Ok();
  const size_t ep_off = yc.raw + 0x60;
  uint32_t length = 0;
  int offset = 0;
  if (!Variant(data.data() + ep_off, std::min<size_t>({data.size() - ep_off, yc.rsize - 0x60u, 0x100}), &length,
               &offset))
    return Status::Ok();

  const int64_t base = static_cast<int64_t>(yc.raw) + offset;
  const uint64_t body = static_cast<uint64_t>(base) + 0xC6;
  const uint64_t section_decryptor = static_cast<uint64_t>(base) + (offset == -0x18 ? 0x3EA : 0x457);
  const uint64_t oep_at = static_cast<uint64_t>(base) + 0xA0F;
  const size_t out_len = data.size() - std::min<size_t>(yc.rsize, data.size());
  const uint64_t table_end = pe + 24 + opt_size + 40ull * (secs.size() - 1);
  if (!Has(data.size(), body, length) || !Has(data.size(), oep_at, 4) || table_end > out_len) {
    ctx.sink.Warn("yc: the crypter's section is truncated; not decrypted");
    return Status::Ok();
  }
  if (!ctx.Admit(data.size())) {
    if (ctx.budget.exhausted()) *stop = true;
    return Status::Ok();
  }
  // Decrypted in a copy of the whole file (the loader is needed), then cut.
  MemberBuffer buf(ctx.budget);
  size_t got = 0;
  LimitHit hit = LimitHit::kNone;
  char* file = buf.Extend(data.size(), &got, &hit);
  if (file == nullptr || got != data.size()) {
    ctx.sink.LimitExceeded(hit == LimitHit::kNone ? ctx.budget.Grow(data.size()) : hit);
    return Status::Ok();
  }
  std::memcpy(file, data.data(), data.size());
  std::vector<Op> ops;
  if (!ReadDecryptor(file, data.size(), static_cast<uint64_t>(base) + 0x93, &ops)) {
    ctx.sink.Warn("yc: the loader's decryptor is not understood; not decrypted");
    return Status::Ok();
  }
  Decrypt(ops, file + body, length, length);
  if (!ReadDecryptor(file, data.size(), section_decryptor, &ops)) {
    ctx.sink.Warn("yc: the sections' decryptor is not understood; not decrypted");
    return Status::Ok();
  }
  const char* names = file + pe + 24 + opt_size;
  for (size_t i = 0; i + 1 < secs.size(); ++i) {
    const PeSection& s = secs[i];
    if (s.raw == 0 || s.rsize == 0 || Skipped(names + 40 * i)) continue;
    if (s.raw >= out_len) {
      ctx.sink.Warn("yc: a section lies past the end of the file; left encrypted");
      continue;
    }
    Decrypt(ops, file + s.raw, std::min<size_t>(s.rsize, out_len - s.raw), s.rsize);
  }
  const uint32_t oep = Le32(file + oep_at);
  char* opt = file + pe + 24;
  file[pe + 6] = static_cast<char>(secs.size() - 1);
  file[pe + 7] = static_cast<char>((secs.size() - 1) >> 8);
  std::memset(opt + 0x68, 0, 8);  // the import directory (the loader's)
  PutLe32(opt + 16, oep);
  PutLe32(opt + 0x38, Le32(opt + 0x38) - yc.vsize);
  buf.Shrink(data.size() - out_len);
  if (!ctx.sink.Member("yc-decrypted", buf.view(), MemberKind::kFile)) *stop = true;
  return Status::Ok();
}

}  // namespace vigil::unpack
