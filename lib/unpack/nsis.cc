// NSIS (Nullsoft) installers, read by hand from the format as makensis
// writes it (checked against installers built by Debian's nsis package).
//
// After the setup program's sections, at an offset that is a multiple of
// 512, comes the "first header": u32 flags, u32 0xDEADBEEF, "NullsoftInst",
// u32 header size, u32 length of the whole archive from the first header
// on. The data follows, in one of two layouts:
//   - not solid: blocks of u32 length (bit 31: compressed) and the bytes,
//     each compressed block on its own: the first holds the installer's
//     script and strings, the others the installed files;
//   - solid: one compressed stream that decodes to such blocks (lengths
//     without bit 31).
// Compressors: zlib's raw deflate, LZMA (5 property bytes, then the raw
// stream), or NSIS's own bzip2 variant (not decoded: a warning).
// Each block is a member ("nsis-block-N"); file names live in the script
// and are not decoded.
#include <lzma.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "unpack/inflate.h"
#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

constexpr std::string_view kMagic("\xEF\xBE\xAD\xDENullsoftInst", 16);
constexpr size_t kFirstHeader = 28;
// Larger LZMA dictionaries than makensis allows (64 MiB) are refused.
constexpr uint32_t kMaxDictionary = 64u << 20;


// LZMA property bytes: lc/lp/pb packed below 225, then a dictionary size
// that makensis writes as a power of two of at least 4 KiB.
bool LzmaProps(std::string_view d) {
  if (d.size() < 5 || static_cast<uint8_t>(d[0]) >= 225) return false;
  uint32_t dict = Le32(d, 1);
  return dict >= 4096 && (dict & (dict - 1)) == 0;
}

enum class Decode { kOk, kDamaged, kOverLimit, kFailed };

// LZMA with NSIS's 5-byte header (properties and dictionary size), decoded
// raw. makensis writes no end marker: input used up after some output is
// the normal end.
Decode Lzma(std::string_view in, MemberBuffer* out, LimitHit* hit) {
  if (Le32(in, 1) > kMaxDictionary) return Decode::kFailed;
  lzma_filter filters[2] = {{LZMA_FILTER_LZMA1, nullptr}, {LZMA_VLI_UNKNOWN, nullptr}};
  if (lzma_properties_decode(&filters[0], nullptr, reinterpret_cast<const uint8_t*>(in.data()), 5) != LZMA_OK)
    return Decode::kFailed;
  lzma_stream z = LZMA_STREAM_INIT;
  lzma_ret init = lzma_raw_decoder(&z, filters);
  free(filters[0].options);  // liblzma allocated it with malloc
  if (init != LZMA_OK) return Decode::kFailed;
  std::string_view rest = in.substr(5);
  z.next_in = reinterpret_cast<const uint8_t*>(rest.data());
  z.avail_in = rest.size();
  Decode result = Decode::kFailed;
  while (true) {
    size_t got = 0;
    char* dst = out->Extend(1 << 16, &got, hit);
    if (!dst) {
      result = Decode::kOverLimit;
      break;
    }
    z.next_out = reinterpret_cast<uint8_t*>(dst);
    z.avail_out = got;
    lzma_ret r = lzma_code(&z, LZMA_RUN);
    const bool produced = z.avail_out < got;
    out->Shrink(z.avail_out);
    if (r == LZMA_STREAM_END) {
      result = Decode::kOk;
      break;
    }
    if (r != LZMA_OK) {
      result = out->size() > 0 ? Decode::kDamaged : Decode::kFailed;
      break;
    }
    if (z.avail_in == 0 && !produced) {  // all input used, nothing more to come
      result = out->size() > 0 ? Decode::kOk : Decode::kFailed;
      break;
    }
  }
  lzma_end(&z);
  if (result == Decode::kOk && out->Over() != LimitHit::kNone) {
    *hit = out->Over();
    return Decode::kOverLimit;
  }
  return result;
}

Decode Deflate(std::string_view in, MemberBuffer* out, LimitHit* hit) {
  switch (Inflate(in, /*deflate64=*/false, out, hit)) {
    case InflateResult::kDone: return Decode::kOk;
    case InflateResult::kOverLimit: return Decode::kOverLimit;
    case InflateResult::kTruncated: return out->size() ? Decode::kDamaged : Decode::kFailed;
    default: return out->size() ? Decode::kDamaged : Decode::kFailed;
  }
}

// One compressed block or solid stream, by its first bytes.
Decode Decompress(std::string_view in, MemberBuffer* out, LimitHit* hit) {
  if (LzmaProps(in)) return Lzma(in, out, hit);
  Decode d = Deflate(in, out, hit);
  if (d == Decode::kFailed) out->Clear();
  return d;
}

// Hands each [u32 length][bytes] block of `blocks` on; false when the sink
// ended the scan. Lengths carry the compressed bit only when not `solid`.
bool Blocks(std::string_view blocks, bool solid, Context& ctx, int* index) {
  size_t p = 0;
  while (p + 4 <= blocks.size() && !ctx.Stopped()) {
    uint32_t word = Le32(blocks, p);
    const bool compressed = !solid && (word & 0x80000000u);
    size_t len = word & 0x7FFFFFFFu;
    p += 4;
    if (len > blocks.size() - p) {
      ctx.sink.Warn("nsis: block " + std::to_string(*index) + " runs past the end; scanning what is there");
      len = blocks.size() - p;
    }
    std::string_view bytes = blocks.substr(p, len);
    p += len;
    std::string name = "nsis-block-" + std::to_string((*index)++);
    if (!compressed) {
      if (!ctx.Admit(bytes.size())) {
        if (ctx.budget.exhausted()) return true;
        continue;
      }
      if (!ctx.sink.Member(name, bytes, MemberKind::kFile)) return false;
      continue;
    }
    if (!ctx.Admit(UINT64_MAX)) {
      if (ctx.budget.exhausted()) return true;
      continue;
    }
    MemberBuffer out(ctx.budget);
    LimitHit hit = LimitHit::kNone;
    Decode d = Decompress(bytes, &out, &hit);
    if (d == Decode::kOverLimit) {
      ctx.sink.LimitExceeded(hit);
      continue;
    }
    if (d == Decode::kFailed) {
      ctx.sink.Warn("nsis: " + name + ": compression not decoded (bzip2, or damaged)");
      continue;
    }
    if (d == Decode::kDamaged) ctx.sink.Warn("nsis: " + name + " is truncated or corrupt; scanning what decoded");
    if (!ctx.sink.Member(name, out.view(), MemberKind::kFile)) return false;
  }
  return true;
}

}  // namespace

Status ReadNsis(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  size_t start = PeOverlayStart(data);
  if (start == 0) return Status::Ok();
  // The first header sits on a 512-byte boundary at or after the overlay.
  size_t fh = std::string_view::npos;
  for (size_t at = (start + 511) / 512 * 512; at + kFirstHeader <= data.size(); at += 512) {
    if (data.substr(at + 4, kMagic.size()) == kMagic) {
      fh = at;
      break;
    }
  }
  if (fh == std::string_view::npos) return Status::Ok();
  uint32_t length = Le32(data, fh + 24);
  if (length < kFirstHeader || length > data.size() - fh) {
    ctx.sink.Warn("nsis: archive length runs past the end; reading what is there");
    length = static_cast<uint32_t>(data.size() - fh);
  }
  // A CRC-32 closes the archive unless the flags say there is none.
  constexpr uint32_t kFlagNoCrc = 4;
  uint32_t body_length = length - static_cast<uint32_t>(kFirstHeader);
  if (!(Le32(data, fh) & kFlagNoCrc) && body_length >= 4) body_length -= 4;
  std::string_view body = data.substr(fh + kFirstHeader, body_length);
  int index = 0;
  // Solid LZMA starts with its properties; not-solid data with a block
  // length that fits; anything else is a solid deflate stream.
  bool solid = LzmaProps(body);
  if (!solid && body.size() >= 4) {
    uint32_t len = Le32(body, 0) & 0x7FFFFFFFu;
    solid = len > body.size() - 4;
  }
  if (!solid) {
    *stop = !Blocks(body, /*solid=*/false, ctx, &index);
    return Status::Ok();
  }
  if (!ctx.Admit(UINT64_MAX)) return Status::Ok();
  MemberBuffer all(ctx.budget);
  LimitHit hit = LimitHit::kNone;
  Decode d = Decompress(body, &all, &hit);
  if (d == Decode::kFailed) {
    ctx.sink.Warn("nsis: solid data not decoded (bzip2, or damaged)");
    return Status::Ok();
  }
  if (d == Decode::kOverLimit) {
    ctx.sink.LimitExceeded(hit);
    ctx.sink.Warn("nsis: solid data larger than the member limit; scanning the blocks that fit");
  } else if (d == Decode::kDamaged) {
    ctx.sink.Warn("nsis: solid data truncated or corrupt; scanning what decoded");
  }
  *stop = !Blocks(all.view(), /*solid=*/true, ctx, &index);
  return Status::Ok();
}

}  // namespace vigil::unpack
