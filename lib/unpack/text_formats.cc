// Small text-encoded containers parsed by hand: BinHex 4.0 (the data and
// resource forks) and files inside HTML as base64 or percent-encoded
// "data:" URIs. Outputs are bounded by the member limit (MemberBuffer).
#include <array>
#include <algorithm>
#include <cstring>
#include <string>

#include "unpack/unpack.h"

namespace vigil::unpack {
namespace {

constexpr std::string_view kBinhexAlphabet =
    "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";

uint32_t Be32(const std::string& s, size_t off) {
  return static_cast<uint32_t>(static_cast<uint8_t>(s[off])) << 24 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[off + 1])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[off + 2])) << 8 | static_cast<uint8_t>(s[off + 3]);
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Status ReadBinhex(std::string_view data, Context& ctx) {
  std::array<int8_t, 256> value;
  value.fill(-1);
  for (size_t i = 0; i < kBinhexAlphabet.size(); ++i) value[static_cast<uint8_t>(kBinhexAlphabet[i])] = static_cast<int8_t>(i);
  size_t start = data.find("(This file must be converted with BinHex");
  if (start == std::string_view::npos) return Status::Ok();
  size_t colon = data.find(':', data.find('\n', start) == std::string_view::npos ? start : data.find('\n', start));
  if (colon == std::string_view::npos) return Status::Ok();
  // 6-bit decode, then run-length expansion (0x90 n repeats the previous byte).
  MemberBuffer out(ctx.budget);
  LimitHit hit = LimitHit::kNone;
  uint32_t acc = 0;
  int bits = 0;
  bool have_prev = false, marker = false;
  uint8_t prev = 0;
  bool ended = false;
  auto emit = [&](uint8_t b) -> bool {
    if (marker) {
      marker = false;
      if (b == 0) { prev = 0x90; have_prev = true; return out.Append("\x90", 1, &hit); }
      if (!have_prev) return true;
      for (int i = 1; i < b; ++i)
        if (!out.Append(&prev, 1, &hit)) return false;
      return true;
    }
    if (b == 0x90) { marker = true; return true; }
    prev = b;
    have_prev = true;
    return out.Append(&b, 1, &hit);
  };
  for (size_t i = colon + 1; i < data.size(); ++i) {
    auto c = static_cast<uint8_t>(data[i]);
    if (c == ':') { ended = true; break; }
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    if (value[c] < 0) break;
    acc = (acc << 6) | static_cast<uint32_t>(value[c]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (!emit(static_cast<uint8_t>(acc >> bits))) break;
      acc &= (1u << bits) - 1;
    }
  }
  if (hit != LimitHit::kNone) { ctx.sink.LimitExceeded(hit); return Status::Ok(); }
  if (!ended) ctx.sink.Warn("binhex: no closing ':'");
  std::string s(out.view());
  if (s.empty()) return Status::Ok();
  size_t n = static_cast<uint8_t>(s[0]);
  size_t h = 1 + n + 1 + 4 + 4 + 2;  // name length, name, version, type, creator, flags
  if (s.size() < h + 10) { ctx.sink.Warn("binhex: truncated header"); return Status::Ok(); }
  std::string name = s.substr(1, n);
  uint64_t dlen = Be32(s, h), rlen = Be32(s, h + 4);
  size_t pos = h + 10;  // lengths and header CRC
  auto fork = [&](uint64_t len, const std::string& fname) -> bool {
    if (len == 0) return true;
    if (pos > s.size()) return false;
    uint64_t have = std::min<uint64_t>(len, s.size() - pos);
    if (have < len) ctx.sink.Warn("binhex: " + fname + " truncated");
    bool go = !ctx.Admit(have) || ctx.sink.Member(fname, std::string_view(s).substr(pos, have), MemberKind::kFile);
    pos += have + 2;  // fork CRC
    return go;
  };
  if (fork(dlen, name.empty() ? "data" : name)) fork(rlen, (name.empty() ? "data" : name) + "/rsrc");
  return Status::Ok();
}

Status ReadHtml(std::string_view data, Context& ctx) {
  size_t pos = 0;
  int count = 0;
  while ((pos = data.find("data:", pos)) != std::string_view::npos && count < 1000) {
    pos += 5;
    size_t comma = data.find(',', pos);
    if (comma == std::string_view::npos || comma - pos > 200) continue;
    std::string_view meta = data.substr(pos, comma - pos);
    if (meta.find_first_of("\"'<> \n") != std::string_view::npos) continue;
    bool base64 = meta.ends_with(";base64");
    MemberBuffer out(ctx.budget);
    LimitHit hit = LimitHit::kNone;
    size_t i = comma + 1;
    uint32_t acc = 0;
    int bits = 0;
    bool ok = true;
    for (; i < data.size() && ok; ++i) {
      char c = data[i];
      if (base64) {
        if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
        int v = Base64Value(c);
        if (v < 0) break;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          char b = static_cast<char>(acc >> bits);
          ok = out.Append(&b, 1, &hit);
          acc &= (1u << bits) - 1;
        }
      } else {
        if (c == '"' || c == '\'' || c == '>' || c == ' ' || c == '\n' || c == ')') break;
        char b = c;
        if (c == '%' && i + 2 < data.size() && HexValue(data[i + 1]) >= 0 && HexValue(data[i + 2]) >= 0) {
          b = static_cast<char>(HexValue(data[i + 1]) * 16 + HexValue(data[i + 2]));
          i += 2;
        }
        ok = out.Append(&b, 1, &hit);
      }
    }
    pos = i;
    if (!ok) { ctx.sink.LimitExceeded(hit); continue; }
    if (out.size() == 0) continue;
    ++count;
    if (!ctx.Admit(out.size())) continue;
    if (!ctx.sink.Member("data-uri-" + std::to_string(count), out.view(), MemberKind::kFile)) break;
    if (ctx.Stopped()) break;
  }
  return Status::Ok();
}

}  // namespace vigil::unpack
