// Shared by the readers of packers whose loaders decode LZMA (mew.cc,
// upack.cc): a bounded raw LZMA decode through liblzma, made-up PE headers
// for an unpacked image.
//
// MEW's and Upack's decoders are LZMA decoders of their own (different
// probability tables in memory, 32-bit probability slots, Upack reading its
// range coder's input as big-endian words), but what they compute is the
// LZMA of the LZMA SDK: the same bit contexts, state machine, length and
// distance codes, and a range coder that, started on the bytes after the
// SDK's first (zero) byte, reads the same values. So their streams decode
// with liblzma given the right lc/lp/pb and, for Upack, a zero byte in
// front.
#pragma once

#include <lzma.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace vigil::unpack::lzma_like {

enum class Result { kDone, kTruncated, kCorrupt, kUnsupported };

// Decodes `want` bytes of raw LZMA (no header, no end marker needed) from
// `in` into `out`, which grows only with what the stream gives. liblzma
// takes lc + lp <= 4 only (kUnsupported above).
inline Result RawLzma(std::string_view in, uint32_t lc, uint32_t lp, uint32_t pb, size_t want, std::string* out) {
  out->clear();
  if (lc + lp > 4 || pb > 4) return Result::kUnsupported;
  lzma_options_lzma opt{};
  if (lzma_lzma_preset(&opt, 0)) return Result::kCorrupt;
  opt.lc = lc;
  opt.lp = lp;
  opt.pb = pb;
  // The whole output fits in the dictionary (liblzma reserves it, touched
  // only as written); these packers' outputs are far below the cap.
  opt.dict_size = static_cast<uint32_t>(std::clamp<size_t>(want, LZMA_DICT_SIZE_MIN, size_t{1} << 26));
  lzma_filter filters[2] = {{LZMA_FILTER_LZMA1, &opt}, {LZMA_VLI_UNKNOWN, nullptr}};
  lzma_stream z = LZMA_STREAM_INIT;
  if (lzma_raw_decoder(&z, filters) != LZMA_OK) return Result::kCorrupt;
  z.next_in = reinterpret_cast<const uint8_t*>(in.data());
  z.avail_in = in.size();
  lzma_ret r = LZMA_OK;
  while (out->size() < want && r == LZMA_OK) {
    const size_t had = out->size(), chunk = std::min<size_t>(want - had, 1 << 16);
    const size_t before_in = z.avail_in;
    out->resize(had + chunk);
    z.next_out = reinterpret_cast<uint8_t*>(out->data() + had);
    z.avail_out = chunk;
    r = lzma_code(&z, LZMA_RUN);
    out->resize(had + chunk - z.avail_out);
    if (z.avail_in == before_in && out->size() == had) break;  // no progress: input used up
  }
  lzma_end(&z);
  if (out->size() == want) return Result::kDone;
  return r == LZMA_OK || r == LZMA_STREAM_END ? Result::kTruncated : Result::kCorrupt;
}

// Size of the made-up headers in front of an unpacked image.
constexpr size_t kHeaders = 0x200;

// Made-up PE headers (i386, one section `name` at `rva` holding an image of
// `image_len` bytes from file offset kHeaders, entry point `entry_rva`).
inline std::string OneSectionHeaders(const char (&name)[9], uint32_t image_base, uint32_t rva, uint32_t entry_rva,
                                     size_t image_len) {
  std::string h(kHeaders, '\0');
  auto put = [&h](size_t off, uint32_t v, int n) {
    for (int i = 0; i < n; ++i) h[off + i] = static_cast<char>(v >> (8 * i));
  };
  h[0] = 'M';
  h[1] = 'Z';
  put(0x3C, 0x40, 4);
  std::memcpy(h.data() + 0x40, "PE\0\0", 4);
  put(0x44, 0x14C, 2);   // i386
  put(0x46, 1, 2);       // one section
  put(0x54, 0xE0, 2);    // optional header size
  put(0x56, 0x010F, 2);  // executable, 32-bit, stripped
  const size_t opt = 0x58;
  const auto raw_len = static_cast<uint32_t>((image_len + 0x1FF) & ~size_t{0x1FF});
  const auto virt_len = static_cast<uint32_t>((image_len + 0xFFF) & ~size_t{0xFFF});
  put(opt, 0x10B, 2);
  put(opt + 16, entry_rva, 4);
  put(opt + 28, image_base, 4);
  put(opt + 32, 0x1000, 4);  // section alignment
  put(opt + 36, 0x200, 4);   // file alignment
  put(opt + 40, 4, 2);       // OS version
  put(opt + 48, 4, 2);       // subsystem version
  put(opt + 56, rva + virt_len, 4);
  put(opt + 60, kHeaders, 4);
  put(opt + 68, 2, 2);  // Windows GUI
  put(opt + 92, 16, 4);
  const size_t sec = opt + 0xE0;
  std::memcpy(h.data() + sec, name, 8);
  put(sec + 8, virt_len, 4);
  put(sec + 12, rva, 4);
  put(sec + 16, raw_len, 4);
  put(sec + 20, kHeaders, 4);
  put(sec + 36, 0xE0000060, 4);  // code, data, read, write, execute
  return h;
}

}  // namespace vigil::unpack::lzma_like
