// Unit tests of the verifier: one case per syntax element, offset form and
// clamscan quirk. Every expected answer is what clamscan 1.4.6 reported for
// the same signature (one .ndb line, target 0) on the same bytes, checked
// by running it; the data is preceded by "\0\0\0\0zz" so that clamscan
// treats it as binary and scans only the raw bytes.
#include "match/verify.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cstring>
#include <string>

#include "signatures/pattern.h"

namespace vigil::match {
namespace {

const std::string kBinaryPrefix("\0\0\0\0zz", 6);

// The offset forms used below: *, n, n,shift, EOF-n, EOF-n,shift (an empty
// number reads as 0, as clamscan reads it).
sig::Offset ParseOffset(std::string_view s) {
  sig::Offset o;
  if (s == "*") return o;
  auto num = [](std::string_view t) {
    uint64_t v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
  };
  size_t comma = s.find(',');
  if (comma != s.npos) {
    o.max_shift = static_cast<uint32_t>(num(s.substr(comma + 1)));
    s = s.substr(0, comma);
  }
  if (s.starts_with("EOF-")) {
    o.kind = sig::Offset::Kind::kFromEnd;
    o.value = static_cast<int64_t>(num(s.substr(4)));
  } else {
    o.kind = sig::Offset::Kind::kAbsolute;
    o.value = static_cast<int64_t>(num(s));
  }
  return o;
}

sig::BodySig MakeSig(std::string_view hex, std::string_view offset) {
  sig::BodySig s;
  auto p = sig::ParsePattern(hex);
  EXPECT_TRUE(p.ok()) << hex << ": " << p.status().message();
  if (p.ok()) s.pattern = std::move(p).value();
  s.offset = ParseOffset(offset);
  return s;
}

Data View(const std::string& d, ScanMemo* memo = nullptr) {
  return Data{reinterpret_cast<const uint8_t*>(d.data()), d.size(), memo};
}

// Whether the signature matches anywhere, through each entry point the
// engine uses: the whole-buffer search, each start its offset pins, and each
// place the first literal run of the pattern occurs (as a prefilter anchor).
struct Answers {
  bool whole = false, pinned = false, anchored = false;
  bool pinned_tried = false, anchored_tried = false;
};

Answers AskAll(const sig::BodySig& s, const std::string& data) {
  Answers a;
  ScanMemo memo;
  a.whole = VerifyEndingAt(s, View(data, &memo), data.size());
  size_t lo, hi;
  if (PinnedRange(s.offset, data.size(), &lo, &hi)) {
    a.pinned_tried = true;
    for (size_t st = lo; st <= hi && !a.pinned; ++st) a.pinned = VerifyAt(s, View(data), st);
  }
  // The first run of at least two exact bytes, as the prefilter would use.
  for (size_t i = 0; i < s.pattern.elems.size() && !a.anchored_tried; ++i) {
    const sig::Elem& e = s.pattern.elems[i];
    if (e.kind != sig::ElemKind::kBytes) continue;
    for (size_t k = 0; k + 1 < e.bytes.size(); ++k) {
      if (!e.bytes[k].exact() || !e.bytes[k + 1].exact()) continue;
      compile::Anchor anchor{0, static_cast<uint16_t>(i), 0, static_cast<uint32_t>(k), 2};
      std::string lit{static_cast<char>(e.bytes[k].value), static_cast<char>(e.bytes[k + 1].value)};
      a.anchored_tried = true;
      for (size_t at = data.find(lit); at != std::string::npos && !a.anchored; at = data.find(lit, at + 1))
        a.anchored = VerifyAnchor(s, anchor, View(data), at + 2);
      break;
    }
  }
  return a;
}

struct Case {
  const char* data;  // after kBinaryPrefix
  const char* hex;
  const char* offset;
  bool clamscan;     // what clamscan 1.4.6 reported
  size_t size = 0;   // data size when it holds NUL bytes
};

// Checked against clamscan 1.4.6.
const Case kCases[] = {
    {"xxabcxx", "616263", "*", true},  // literal
    {"xxabxcx", "616263", "*", false},  // literal
    {"abZd", "6162??64", "*", true},  // ??
    {"abd", "6162??64", "*", false},  // ??
    {"abcd", "61626?64", "*", true},  // a?
    {"absd", "61626?64", "*", false},  // a?
    {"ab3d", "6162?364", "*", true},  // ?a
    {"ab4d", "6162?364", "*", false},  // ?a
    {"ab--------cd", "6162*6364", "*", true},  // *
    {"abcd", "6162*6364", "*", true},  // *
    {"cd----ab", "6162*6364", "*", false},  // *
    {"abXYcd", "6162{2}6364", "*", true},  // {n}
    {"abXcd", "6162{2}6364", "*", false},  // {n}
    {"abcd", "6162{-2}6364", "*", true},  // {-n}
    {"abXXcd", "6162{-2}6364", "*", true},  // {-n}
    {"abXXXcd", "6162{-2}6364", "*", false},  // {-n}
    {"abXcd", "6162{2-}6364", "*", false},  // {n-}
    {"abXXXXXXXXcd", "6162{2-}6364", "*", true},  // {n-}
    {"abcd", "6162{1-3}6364", "*", false},  // {n-m}
    {"abXXcd", "6162{1-3}6364", "*", true},  // {n-m}
    {"abXXXXcd", "6162{1-3}6364", "*", false},  // {n-m}
    {"abXXXXXXXXcd", "6162{0}6364", "*", true},  // {0} has no maximum
    {"abXcdXXef", "6162{1-2}6364{2}6566", "*", true},  // {n} after a splitting brace splits
    {"abxde", "6162(63|78)6465", "*", true},  // (aa|bb)
    {"abyde", "6162(63|78)6465", "*", false},  // (aa|bb)
    {"abxyef", "6162(6364|7879)6566", "*", true},  // (aabb|ccdd)
    {"abxxef", "6162(6364|7879)6566", "*", false},  // (aabb|ccdd)
    {"abcxyzz", "616263(78|7879)7a7a", "*", true},  // different lengths, forward
    {"abcxzz", "616263(7879|78)7a7a", "*", true},  // different lengths, forward
    {"abxycde", "6162(79|7879)636465", "*", false},  // unique alternative taken backwards
    {"abxycde", "6162(7879|79)636465", "*", true},  // unique alternative taken backwards
    {"abxycde", "6162(79|??79)636465", "*", true},  // derivative alternatives backtrack
    {"abcd", "616263(61|)64", "*", true},  // empty alternative, forward
    {"abde", "6162(63|)6465", "*", false},  // empty alternative, backward
    {"abcde", "6162(63)6465", "*", true},  // (aa) is a special
    {"abeef", "6162!(63|64)6566", "*", true},  // !(aa|bb)
    {"abcef", "6162!(63|64)6566", "*", false},  // !(aa|bb)
    {"abxxgh", "6162!(6364|6566)6768", "*", true},  // !(aabb|ccdd)
    {"abcdgh", "6162!(6364|6566)6768", "*", false},  // !(aabb|ccdd)
    {"aXcde", "61[1-2]636465", "*", true},  // [x-y] left
    {"acde", "61[1-2]636465", "*", false},  // [x-y] left
    {"aXXXcde", "61[1-2]636465", "*", false},  // [x-y] left
    {"cdea", "636465[0-1]61", "*", true},  // [x-y] right
    {"cdeXXa", "636465[0-1]61", "*", false},  // [x-y] right
    {"ab cd", "6162(B)6364", "*", true},  // (B) inside
    {"ab<cd", "6162(B)6364", "*", true},  // (B) inside
    {"abcd", "6162(B)6364", "*", false},  // (B) inside
    {"x<abc", "(B)616263", "*", true},  // (B) before
    {"x\nabc", "(B)616263", "*", false},  // (B) before
    {"abc\nx", "616263(B)", "*", true},  // (B) after
    {"abc<x", "616263(B)", "*", false},  // (B) after
    {"xxxabc", "616263(B)", "*", true},  // (B) at the end of the data
    {"abc\r\nde", "616263(L)6465", "*", true},  // (L) inside
    {"abc\nde", "616263(L)6465", "*", true},  // (L) inside
    {"abc\rde", "616263(L)6465", "*", false},  // (L) inside
    {"ab\ncd", "6162(L)6364", "*", true},  // (L) before the anchor
    {"ab\r\ncd", "6162(L)6364", "*", false},  // (L) before the anchor
    {"abZ\r\ncd", "6162(L)0a6364", "*", true},  // (L) before the anchor
    {"x\nabc", "(L)616263", "*", true},  // (L) before
    {"x\rabc", "(L)616263", "*", false},  // (L) before
    {"abc\r\nx", "616263(L)", "*", true},  // (L) after
    {"ab-cd", "6162(W)6364", "*", true},  // (W) inside
    {"abxcd", "6162(W)6364", "*", false},  // (W) inside
    {"x-abc", "(W)616263", "*", true},  // (W) before
    {"x9abc", "(W)616263", "*", false},  // (W) before
    {"abxx cd", "6162*(B)6364", "*", true},  // edges of parts
    {"abxxcd", "6162*(B)6364", "*", false},  // edges of parts
    {"qqqqabcq", "616263", "10", true},  // n
    {"qqqqabcq", "616263", "9", false},  // n
    {"qqqqabcq", "616263", "11", false},  // n
    {"qqqqabcq", "616263", "8,2", true},  // n,shift
    {"qqqqabcq", "616263", "7,2", false},  // n,shift
    {"qqqqabcq", "616263", "10,", true},  // empty numbers around the comma
    {"qqqqabcq", "616263", "EOF-4", true},  // EOF-n
    {"qqqqabcq", "616263", "EOF-5", false},  // EOF-n
    {"qqqqabcq", "616263", "EOF-6,2", true},  // EOF-n,shift
    {"qqqqabcq", "616263", "EOF-6,1", false},  // EOF-n,shift
    {"qqqqabcdq", "??626364", "10", true},  // offset of a whole-pattern wildcard
    {"qqqqaXcdeq", "61[1-2]636465", "12", true},  // offset of [x-y] left: the literal side
    {"qqqqaXcdeq", "61[1-2]636465", "10", false},  // offset of [x-y] left: the literal side
    {"qqqqab cdeq", "6162(B)636465", "10", false},  // special before the anchor shifts the estimate
    {"qqqqab cdeq", "6162(B)636465", "10,1", true},  // special before the anchor shifts the estimate
    {"qqqqab----cdq", "6162*6364", "10", true},  // offset of a multi-part signature
    {"qqqqab----cdq", "6162*6364", "11", false},  // offset of a multi-part signature
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.hex << " @" << c.offset << " on \"" << c.data << '"';
}

class VerifyCase : public testing::TestWithParam<Case> {};

TEST_P(VerifyCase, AgreesWithClamscan) {
  const Case& c = GetParam();
  std::string data = kBinaryPrefix + std::string(c.data, c.size ? c.size : std::strlen(c.data));
  sig::BodySig s = MakeSig(c.hex, c.offset);
  Answers a = AskAll(s, data);
  EXPECT_EQ(a.whole, c.clamscan);
  if (a.pinned_tried) {
    EXPECT_EQ(a.pinned, c.clamscan) << "VerifyAt";
  }
  if (a.anchored_tried) {
    EXPECT_EQ(a.anchored, c.clamscan) << "VerifyAnchor";
  }
}

INSTANTIATE_TEST_SUITE_P(Clamscan, VerifyCase, testing::ValuesIn(kCases));

// Multi-part signatures chain their parts as clamscan does: it remembers the
// first end of the previous part it saw and the last eight. Checked against
// clamscan 1.4.6 with "6162{100-101}6364".
TEST(Verify, PartChainRemembersFirstAndLastEight) {
  sig::BodySig s = MakeSig("6162{100-101}6364", "*");
  auto crowd = [](int far, int copies) {
    std::string d = kBinaryPrefix;
    if (far) d += "ab" + std::string(200, 'x');
    d += "ab";
    for (int k = 0; k < copies; ++k) d += "ab-";
    d += std::string(100 - 3 * copies, 'x') + "cd";
    return d;
  };
  EXPECT_TRUE(VerifyEndingAt(s, View(crowd(1, 7)), 0));   // clamscan: found
  EXPECT_FALSE(VerifyEndingAt(s, View(crowd(1, 8)), 0));  // clamscan: not found
  EXPECT_TRUE(VerifyEndingAt(s, View(crowd(0, 20)), 0));  // clamscan: found (first one seen)
}

// Offsets from the end cannot be evaluated where clamscan does not know
// them (its in-memory pass over normalised text).
TEST(Verify, EofOffsetsCanBeSwitchedOff) {
  sig::BodySig s = MakeSig("616263", "EOF-4");
  std::string data = kBinaryPrefix + "qqqqabcq";
  EXPECT_TRUE(VerifyEndingAt(s, View(data), 0));
  Data d = View(data);
  d.eof_offsets = false;
  EXPECT_FALSE(VerifyEndingAt(s, d, 0));
  EXPECT_FALSE(VerifyAt(s, d, 10));
}

TEST(Verify, MemoAnswersOnce) {
  sig::BodySig s = MakeSig("6162*6364", "*");
  std::string yes = kBinaryPrefix + "ab--cd", no = kBinaryPrefix + "cd--ab";
  ScanMemo memo;
  EXPECT_TRUE(VerifyEndingAt(s, View(yes, &memo), 0));
  ASSERT_NE(memo.Find(&s), nullptr);
  // The stored answer is used for the rest of the scan of that buffer.
  EXPECT_TRUE(VerifyEndingAt(s, View(no, &memo), 0));
  ScanMemo fresh;
  EXPECT_FALSE(VerifyEndingAt(s, View(no, &fresh), 0));
}

TEST(Verify, ByteClasses) {
  // (B) in the middle of a part is either side's set.
  for (unsigned b = 0; b < 256; ++b) {
    auto c = static_cast<uint8_t>(b);
    EXPECT_EQ(IsBoundaryByte(c), IsLeftBoundaryByte(c) || IsRightBoundaryByte(c)) << b;
  }
  EXPECT_TRUE(IsLeftBoundaryByte('<'));
  EXPECT_FALSE(IsRightBoundaryByte('<'));
  EXPECT_TRUE(IsRightBoundaryByte('\n'));
  EXPECT_FALSE(IsLeftBoundaryByte('\n'));
  EXPECT_TRUE(IsNonAlnumByte(0xe9));
  EXPECT_FALSE(IsNonAlnumByte('Q'));
}

}  // namespace
}  // namespace vigil::match
