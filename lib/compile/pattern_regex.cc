#include "compile/pattern_regex.h"

#include <cstdio>

#include "match/verify.h"

namespace vigil::compile {
namespace {

void AppendHex(std::string* out, unsigned b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  *out += buf;
}

// A character class of every byte that ByteMatch accepts.
void AppendByteMatch(std::string* out, sig::ByteMatch b) {
  if (b.mask == 0xff) { AppendHex(out, b.value); return; }
  if (b.mask == 0x00) { *out += "[\\x00-\\xff]"; return; }
  *out += '[';
  if (b.mask == 0xf0) {  // high nibble fixed: one contiguous range
    AppendHex(out, b.value);
    *out += '-';
    AppendHex(out, b.value | 0x0f);
  } else {
    for (unsigned hi = 0; hi < 16; ++hi) AppendHex(out, hi << 4 | b.value);
  }
  *out += ']';
}

void AppendClass(std::string* out, bool (*pred)(uint8_t)) {
  *out += '[';
  for (unsigned b = 0; b < 256; ++b)
    if (pred(static_cast<uint8_t>(b))) AppendHex(out, b);
  *out += ']';
}

}  // namespace

Result<std::string> PatternToRegex(const sig::Pattern& p, bool* exact) {
  std::string out;
  // Chains of parts and the specials have no exact regex form.
  bool is_exact = p.parts.size() <= 1;
  for (const sig::Elem& e : p.elems) {
    switch (e.kind) {
      case sig::ElemKind::kBytes:
        for (auto b : e.bytes) AppendByteMatch(&out, b);
        break;
      case sig::ElemKind::kAlt:
        out += "(?:";
        for (size_t i = 0; i < e.alts.size(); ++i) {
          if (i) out += '|';
          for (auto b : e.alts[i]) AppendByteMatch(&out, b);
        }
        out += ')';
        break;
      case sig::ElemKind::kNegAlt: {
        bool single_exact = e.alts[0].size() == 1;
        for (const auto& a : e.alts) single_exact = single_exact && a[0].exact();
        if (!single_exact) {  // widened: any bytes of that length
          is_exact = false;
          out += "[\\x00-\\xff]{" + std::to_string(e.alts[0].size()) + "}";
          break;
        }
        out += "[^";
        for (const auto& a : e.alts) AppendHex(&out, a[0].value);
        out += ']';
        break;
      }
      case sig::ElemKind::kGap:
        if (e.gap_min > e.gap_max) return Status::Unsupported("gap that never matches");
        if (e.gap_max == 0) break;  // "[0-0]": Hyperscan refuses an empty repeat
        if (e.gap_min > kMaxRegexRepeat ||
            (e.gap_max != sig::kGapUnbounded && e.gap_max > kMaxRegexRepeat)) {
          // Widened to an open-ended gap (see kMaxRegexRepeat).
          is_exact = false;
          out += "[\\x00-\\xff]*";
          break;
        }
        out += "[\\x00-\\xff]{" + std::to_string(e.gap_min) + ",";
        if (e.gap_max != sig::kGapUnbounded) out += std::to_string(e.gap_max);
        out += '}';
        break;
      case sig::ElemKind::kBoundary:
      case sig::ElemKind::kLine:
      case sig::ElemKind::kNonAlnum:
        is_exact = false;
        if (e.place == sig::Place::kBefore || e.place == sig::Place::kAfter)
          break;  // zero-width: widened to nothing
        if (e.kind == sig::ElemKind::kBoundary) {
          AppendClass(&out, match::IsBoundaryByte);
        } else if (e.kind == sig::ElemKind::kNonAlnum) {
          AppendClass(&out, match::IsNonAlnumByte);
        } else if (e.place == sig::Place::kInside) {
          out += "(?:\\r\\n|\\n)";
        } else {
          out += "(?:\\n|[\\x00-\\xff]\\r)";
        }
        break;
    }
  }
  if (exact) *exact = is_exact;
  return out;
}

}  // namespace vigil::compile
