// UPX-packed PE files (32-bit Windows), unpacked into the file they were
// made from. Written from the published descriptions of the UPX file layout
// and of the NRV2B algorithm of the UCL library, checked on clamav-testfiles'
// clam-upx.exe.
//
// A packed file has a first section with no raw data (UPX0: the space the
// image is unpacked into) and a second (UPX1) whose raw data starts with
// the compressed stream; a "UPX!" header just before that gives the format
// (9: win32/pe), the method (2: NRV2B, 8: NRV2E, with 32-bit little-endian
// bit words),
// the unpacked length (u32 at +16) and the packed length (u32 at +20).
// Unpacked, the stream is the image from UPX0's address on, followed by the
// import names and the original PE header (from "PE\0\0": file header,
// optional header, section table). Each original section's raw bytes are
// at its virtual address less UPX0's in the unpacked stream; laid out at
// their raw offsets behind a made-up DOS header, they give the original
// file back. Code filters (UPX's call/jump address transforms) are not
// undone, so the bytes of code sections differ from the original's; data,
// resources already unpacked and appended payloads are as they were. The
// result is one member ("upx-unpacked"), looked inside like any PE.
//
// NRV2B: a bit stream, read MSB first from 32-bit little-endian words,
// interleaved with whole bytes. Bit 1: a literal byte follows. Bit 0: a
// match; its offset is an Elias-gamma-like number m (each data bit followed
// by a stop bit) — 2 repeats the last offset, else (m - 3) * 256 + the next
// byte + 1 (0xFFFFFFFF + 1 ends the stream); its length is two bits, or
// when they are 0 another gamma number + 2, one more for offsets above
// 0xD00, and the copy is length + 1 bytes. NRV2E differs in the offset
// code (after each 0 stop bit, one more bit: m = (m - 1) * 2 + bit), takes
// the low bit of the offset code (inverted) as the first length bit and
// shifts it out, codes lengths 1-2 / 3-4 / gamma + 3 with one or two bits,
// and adds one for offsets above 0x500; verified on the NRV2E-packed
// clam.ea05.exe and clam.ea06.exe (unpacked lengths exact, original headers
// sound).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "match/exe.h"
#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

bool Has(std::string_view d, size_t off, size_t n) { return off <= d.size() && d.size() - off >= n; }

constexpr uint8_t kFormatWin32Pe = 9;
constexpr uint8_t kMethodNrv2bLe32 = 2, kMethodNrv2eLe32 = 8;

class BitReader {
 public:
  explicit BitReader(std::string_view in) : in_(in) {}
  // -1 when the input ran out.
  int Bit() {
    if (count_ == 0) {
      if (!Has(in_, pos_, 4)) return -1;
      word_ = Le32(in_, pos_);
      pos_ += 4;
      count_ = 32;
    }
    --count_;
    return static_cast<int>(word_ >> count_ & 1u);
  }
  // NRV2D/NRV2E's offset code: as Gamma, but after each 0 stop bit one
  // more data bit goes in as (v - 1) * 2 + bit.
  bool Gamma2(uint64_t* v) {
    *v = 1;
    for (;;) {
      int b = Bit(), stop = b < 0 ? -1 : Bit();
      if (stop < 0) return false;
      *v = *v * 2 + static_cast<uint64_t>(b);
      if (*v > 0x1FFFFFFFFull) return false;
      if (stop) return true;
      int c = Bit();
      if (c < 0) return false;
      *v = (*v - 1) * 2 + static_cast<uint64_t>(c);
    }
  }
  int Byte() { return pos_ < in_.size() ? static_cast<uint8_t>(in_[pos_++]) : -1; }
  // A gamma number: 1, then data bits each followed by a stop bit; false
  // when the input ran out or the number grew past 2^32.
  bool Gamma(uint64_t* v) {
    *v = 1;
    for (;;) {
      int b = Bit(), stop = b < 0 ? -1 : Bit();
      if (stop < 0) return false;
      *v = *v * 2 + static_cast<uint64_t>(b);
      if (*v > 0x1FFFFFFFFull) return false;
      if (stop) return true;
    }
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  uint32_t word_ = 0;
  int count_ = 0;
};

enum class Nrv { kDone, kTruncated, kCorrupt, kOverLimit };

enum class Variant { kNrv2b, kNrv2e };

Nrv NrvDecode(Variant v, std::string_view in, size_t limit, MemberBuffer* out, LimitHit* hit) {
  BitReader r(in);
  std::string buf;  // grows to at most `limit` (checked against the budget by the caller)
  uint64_t last = 1;
  for (;;) {
    int b;
    while ((b = r.Bit()) == 1) {
      int c = r.Byte();
      if (c < 0) break;
      buf.push_back(static_cast<char>(c));
      if (buf.size() > limit) return Nrv::kOverLimit;
    }
    if (b < 0) break;
    uint64_t m, off, len;
    if (!(v == Variant::kNrv2b ? r.Gamma(&m) : r.Gamma2(&m))) break;
    int low_bit = 0;  // NRV2E: the low bit of the offset code is the first length bit
    if (m == 2) {
      off = last;
      if (v == Variant::kNrv2e && (low_bit = r.Bit()) < 0) break;
    } else {
      int low = r.Byte();
      if (low < 0 || m < 3) break;
      off = (m - 3) * 256 + static_cast<uint64_t>(low);
      if (off == 0xFFFFFFFFull) {
        if (!out->Append(buf.data(), buf.size(), hit)) return Nrv::kOverLimit;
        return Nrv::kDone;
      }
      if (v == Variant::kNrv2e) {
        low_bit = static_cast<int>(~off & 1);
        off >>= 1;
      }
      last = ++off;
    }
    if (v == Variant::kNrv2b) {
      int b1 = r.Bit(), b2 = b1 < 0 ? -1 : r.Bit();
      if (b2 < 0) break;
      len = static_cast<uint64_t>(b1 * 2 + b2);
      if (len == 0) {
        if (!r.Gamma(&len)) break;
        len += 2;
      }
      len += (off > 0xD00 ? 1 : 0) + 1;
    } else {
      int b1;
      if (low_bit) {
        if ((b1 = r.Bit()) < 0) break;
        len = 1 + static_cast<uint64_t>(b1);
      } else if ((b1 = r.Bit()) < 0) {
        break;
      } else if (b1) {
        int b2 = r.Bit();
        if (b2 < 0) break;
        len = 3 + static_cast<uint64_t>(b2);
      } else {
        if (!r.Gamma(&len)) break;
        len += 3;
      }
      len += (off > 0x500 ? 1 : 0) + 1;
    }
    if (off > buf.size()) {
      out->Append(buf.data(), buf.size(), hit);
      return Nrv::kCorrupt;
    }
    if (len > limit - buf.size() + 1) return Nrv::kOverLimit;
    size_t from = buf.size() - static_cast<size_t>(off);
    for (uint64_t i = 0; i < len; ++i) buf.push_back(buf[from + static_cast<size_t>(i)]);
    if (buf.size() > limit) return Nrv::kOverLimit;
  }
  out->Append(buf.data(), buf.size(), hit);
  return Nrv::kTruncated;
}

using match::PeSection;
using match::ReadPeSections;

// The original file from the unpacked stream, or "" when its PE header is
// not found there.
std::string Rebuild(std::string_view image, uint32_t base_va, uint64_t cap) {
  // The original header: the last plausible "PE\0\0" whose section table
  // fits in the stream (the image itself may hold other PE files).
  std::vector<PeSection> secs;
  size_t pe = image.size();
  for (;;) {
    pe = image.rfind(std::string_view("PE\0\0", 4), pe == 0 ? 0 : pe - 1);
    if (pe == std::string_view::npos) return "";
    if (ReadPeSections(image, pe, &secs) && Le16(image, pe + 4) == 0x14C) break;
    if (pe == 0) return "";
  }
  const size_t header_len = 24 + Le16(image, pe + 20) + 40u * secs.size();
  constexpr size_t kPeAt = 0x80;
  uint64_t size = kPeAt + header_len;
  for (const PeSection& s : secs) size = std::max<uint64_t>(size, static_cast<uint64_t>(s.raw) + s.rsize);
  if (size > cap) return "";
  std::string file(static_cast<size_t>(size), '\0');
  file[0] = 'M';
  file[1] = 'Z';
  for (int i = 0; i < 4; ++i) file[0x3C + i] = static_cast<char>(kPeAt >> (8 * i));
  std::memcpy(file.data() + kPeAt, image.data() + pe, header_len);
  for (const PeSection& s : secs) {
    if (s.rsize == 0 || s.va < base_va || s.raw < kPeAt + header_len) continue;  // nothing, or over the headers
    uint64_t from = s.va - base_va;
    if (from >= image.size()) continue;
    uint64_t n = std::min<uint64_t>({s.rsize, image.size() - from, size - s.raw});
    std::memcpy(file.data() + s.raw, image.data() + from, static_cast<size_t>(n));
  }
  return file;
}

}  // namespace

Status ReadUpx(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  if (!PeAt(data, 0)) return Status::Ok();
  std::vector<PeSection> secs;
  if (!ReadPeSections(data, Le32(data, 0x3C), &secs) || secs.size() < 2) return Status::Ok();
  // UPX0 holds nothing on disk; UPX1's raw data is the packed stream.
  if (secs[0].rsize != 0 || secs[1].rsize == 0 || secs[1].raw >= data.size()) return Status::Ok();
  const size_t start = secs[1].raw;
  size_t magic = data.substr(0, start).rfind("UPX!");
  if (magic == std::string_view::npos || !Has(data, magic, 32)) return Status::Ok();
  const auto format = static_cast<uint8_t>(data[magic + 5]);
  const auto method = static_cast<uint8_t>(data[magic + 6]);
  const uint32_t u_len = Le32(data, magic + 16), c_len = Le32(data, magic + 20);
  if (format != kFormatWin32Pe) {
    ctx.sink.Warn("upx: format " + std::to_string(format) + " is not unpacked yet (only win32/pe)");
    return Status::Ok();
  }
  if (method != kMethodNrv2bLe32 && method != kMethodNrv2eLe32) {
    ctx.sink.Warn("upx: method " + std::to_string(method) + " is not unpacked yet (only NRV2B and NRV2E)");
    return Status::Ok();
  }
  if (!ctx.Admit(u_len)) {
    if (ctx.budget.exhausted()) *stop = true;
    return Status::Ok();
  }
  std::string_view packed = data.substr(start, std::min<size_t>(c_len, data.size() - start));
  MemberBuffer image(ctx.budget);
  LimitHit hit = LimitHit::kNone;
  const size_t limit = std::min<uint64_t>(u_len, ctx.budget.MemberCap());
  Nrv r = NrvDecode(method == kMethodNrv2eLe32 ? Variant::kNrv2e : Variant::kNrv2b, packed, limit, &image, &hit);
  if (r == Nrv::kOverLimit) {
    if (hit == LimitHit::kNone) {
      ctx.sink.Warn("upx: the stream unpacks to more than its header says; not scanned");
      return Status::Ok();
    }
    ctx.sink.LimitExceeded(hit);
    return Status::Ok();
  }
  if (r != Nrv::kDone || image.size() != u_len)
    ctx.sink.Warn("upx: the packed stream is truncated or corrupt; scanning what unpacked");
  std::string file = Rebuild(image.view(), secs[0].va, ctx.budget.MemberCap());
  if (file.empty()) {
    ctx.sink.Warn("upx: no original PE header in the unpacked stream; scanning the image as it is");
    if (!ctx.sink.Member("upx-image", image.view(), MemberKind::kFile)) *stop = true;
    return Status::Ok();
  }
  if (!ctx.sink.Member("upx-unpacked", file, MemberKind::kFile)) *stop = true;
  return Status::Ok();
}

}  // namespace vigil::unpack
