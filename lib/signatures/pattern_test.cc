// Golden tests for the .ndb body-signature syntax: each input either parses
// and renders (FormatPattern) to the expected canonical form, or fails with
// exactly the expected reason. Every accepted input must also round-trip:
// parsing the canonical form gives the same Pattern.
#include "signatures/pattern.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::sig {
namespace {

struct Golden {
  const char* input;
  const char* want;  // canonical form, or the error message when `error`
  bool error = false;
};

std::ostream& operator<<(std::ostream& os, const Golden& g) { return os << '"' << g.input << '"'; }

Golden Ok(const char* in, const char* out) { return {in, out, false}; }
Golden Bad(const char* in, const char* why) { return {in, why, true}; }

const Golden kGolden[] = {
    // Plain bytes; hex case is normalised.
    Ok("4d5a", "4d5a"),
    Ok("4D5A9000", "4d5a9000"),
    Ok("aA", "aa"),
    // ?? and nibble wildcards.
    Ok("4d??5a", "4d??5a"),
    Ok("4da?5a", "4da?5a"),
    Ok("4d?a5a", "4d?a5a"),
    Ok("4d?A5a", "4d?a5a"),
    Ok("????4d", "????4d"),
    // Gaps: *, {n}, {-n}, {n-}, {n-m}.
    Ok("4d*5a", "4d*5a"),
    Ok("4d{4}5a", "4d{4}5a"),
    Ok("4d{0}5a", "4d{0}5a"),
    Ok("4d{-4}5a", "4d{0-4}5a"),
    Ok("4d{4-}5a", "4d{4-}5a"),
    Ok("4d{0-}5a", "4d*5a"),
    Ok("4d{2-4}5a", "4d{2-4}5a"),
    Ok("4d{3-3}5a", "4d{3}5a"),
    Ok("4d{1-4294967294}5a", "4d{1-4294967294}5a"),
    // Adjacent gaps merge into one.
    Ok("4d{2}*5a", "4d{2-}5a"),
    Ok("4d*{2}5a", "4d{2-}5a"),
    Ok("4d{1-2}{3-4}5a", "4d{4-6}5a"),
    Ok("4d**5a", "4d*5a"),
    // [x-y] byte-anchored ranges become bounded gaps.
    Ok("4d[1-4]5a", "4d{1-4}5a"),
    Ok("4d[0-32]5a", "4d{0-32}5a"),
    Ok("4d[2-2]5a", "4d{2}5a"),
    // Alternatives, single- and multi-byte, and of different lengths.
    Ok("(aa|bb)cc", "(aa|bb)cc"),
    Ok("cc(aa|bb|dd)", "cc(aa|bb|dd)"),
    Ok("cc(aabb|ddee)ff", "cc(aabb|ddee)ff"),
    Ok("cc(aa|bbdd|eeff00)ff", "cc(aa|bbdd|eeff00)ff"),
    Ok("cc(a?|?b|?\?)dd", "cc(a?|?b|?\?)dd"),
    Ok("cc(AA|Bb)dd", "cc(aa|bb)dd"),
    // A one-way alternation is plain bytes and merges with its neighbours.
    Ok("cc(aa)dd", "ccaadd"),
    Ok("(aabb)", "aabb"),
    // Negated alternatives.
    Ok("cc!(aa|bb)dd", "cc!(aa|bb)dd"),
    Ok("cc!(aabb|ddee)ff", "cc!(aabb|ddee)ff"),
    Ok("cc!(aa)dd", "cc!(aa)dd"),
    // Specials.
    Ok("(B)6162(B)", "(B)6162(B)"),
    Ok("(L)6162", "(L)6162"),
    Ok("6162(L)", "6162(L)"),
    Ok("6162(W)6364", "6162(W)6364"),
    Ok("(W)", "(W)"),
    // Everything at once.
    Ok("4d5a{2}?\?(aa|bbcc)!(dd|ee)*ff[1-3]f?(B)f?(L)(W){-9}00",
       "4d5a{2}?\?(aa|bbcc)!(dd|ee)*ff{1-3}f?(B)f?(L)(W){0-9}00"),
    Ok("4d*[1-3]5a", "4d{1-}5a"),

    // Malformed inputs.
    Bad("", "empty signature"),
    Bad("4", "odd number of hex digits"),
    Bad("4d5", "odd number of hex digits"),
    Bad("4d5a?", "odd number of hex digits"),
    Bad("4dzz", "invalid character in hex signature near 'zz'"),
    Bad("4d 5a", "invalid character in hex signature near ' 5'"),
    Bad("4dg0", "invalid character in hex signature near 'g0'"),
    Bad("4d}5a", "invalid character in hex signature near '}5'"),
    Bad("*4d", "signature cannot begin or end with a wildcard gap"),
    Bad("4d*", "signature cannot begin or end with a wildcard gap"),
    Bad("{2}4d", "signature cannot begin or end with a wildcard gap"),
    Bad("4d[1-2]", "signature cannot begin or end with a wildcard gap"),
    Bad("*", "signature cannot begin or end with a wildcard gap"),
    Bad("4d{5", "unterminated '{'"),
    Bad("4d{}5a", "bad gap '{}'"),
    Bad("4d{a}5a", "bad gap '{a}'"),
    Bad("4d{-}5a", "bad gap '{-}'"),
    Bad("4d{+3}5a", "bad gap '{+3}'"),
    Bad("4d{1-2-3}5a", "bad gap '{1-2-3}'"),
    Bad("4d{ 3}5a", "bad gap '{ 3}'"),
    Bad("4d{4294967296}5a", "bad gap '{4294967296}'"),
    Bad("4d{5-2}5a", "bad gap '{5-2}': maximum below minimum"),
    Bad("4d{4294967295}5a", "gap too large"),
    Bad("4d{4294967294}{1}5a", "gap too large"),
    Bad("4d{1-4294967294}{2}5a", "gap too large"),
    Bad("4d{3000000000}{3000000000}5a", "gap too large"),
    Bad("4d[1-2", "unterminated '['"),
    Bad("4d[5-1]5a", "bad byte-anchored range '[5-1]'"),
    Bad("4d[3]5a", "bad byte-anchored range '[3]'"),
    Bad("4d[-3]5a", "bad byte-anchored range '[-3]'"),
    Bad("4d[1-]5a", "bad byte-anchored range '[1-]'"),
    Bad("4d[1-33]5a", "byte-anchored range '[1-33]' exceeds 32"),
    Bad("4d(aa|bb", "unterminated '('"),
    Bad("4d(aa||bb)5a", "empty alternative in '(aa||bb)'"),
    Bad("4d(aa|)5a", "empty alternative in '(aa|)'"),
    Bad("4d()5a", "empty alternative in '()'"),
    Bad("4d(aab|bb)", "odd number of hex digits in alternative 'aab'"),
    Bad("4d(zz|bb)", "invalid alternative 'zz'"),
    Bad("4d(X)", "unknown special '(X)'"),
    Bad("4d(b)", "unknown special '(b)'"),
    Bad("4d!aa", "'!' must be followed by '('"),
    Bad("4d!", "'!' must be followed by '('"),
    Bad("4d!(B)", "odd number of hex digits in alternative 'B'"),
    Bad("4d!(aa|bbcc)", "negated alternatives must all have the same length"),
};

class PatternGolden : public testing::TestWithParam<Golden> {};

TEST_P(PatternGolden, ParsesToCanonicalFormOrFailsWithReason) {
  const Golden& g = GetParam();
  auto p = ParsePattern(g.input);
  if (g.error) {
    ASSERT_FALSE(p.ok()) << "parsed as " << FormatPattern(*p);
    EXPECT_EQ(p.status().code(), StatusCode::kCorruption);
    EXPECT_EQ(p.status().message(), g.want);
    return;
  }
  ASSERT_TRUE(p.ok()) << p.status().message();
  std::string canon = FormatPattern(*p);
  EXPECT_EQ(canon, g.want);
  // The canonical form is a fixed point and parses to the same pattern.
  auto again = ParsePattern(canon);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->elems, p->elems);
  EXPECT_EQ(FormatPattern(*again), canon);
}

INSTANTIATE_TEST_SUITE_P(Syntax, PatternGolden, testing::ValuesIn(kGolden));

// Structure checks for the elements the golden strings cannot show.
TEST(Pattern, ElementsOfEachKind) {
  auto p = ParsePattern("4d?a(aa|bbcc)!(dd|ee){2-5}(B)(L)(W)a?");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const auto& e = p->elems;
  ASSERT_EQ(e.size(), 8u);
  EXPECT_EQ(e[0].kind, ElemKind::kBytes);
  ASSERT_EQ(e[0].bytes.size(), 2u);
  EXPECT_EQ(e[0].bytes[0], (ByteMatch{0x4d, 0xff}));
  EXPECT_EQ(e[0].bytes[1], (ByteMatch{0x0a, 0x0f}));
  EXPECT_EQ(e[1].kind, ElemKind::kAlt);
  ASSERT_EQ(e[1].alts.size(), 2u);
  EXPECT_EQ(e[1].alts[1].size(), 2u);
  EXPECT_EQ(e[2].kind, ElemKind::kNegAlt);
  EXPECT_EQ(e[3].kind, ElemKind::kGap);
  EXPECT_EQ(e[3].gap_min, 2u);
  EXPECT_EQ(e[3].gap_max, 5u);
  EXPECT_EQ(e[4].kind, ElemKind::kBoundary);
  EXPECT_EQ(e[5].kind, ElemKind::kLine);
  EXPECT_EQ(e[6].kind, ElemKind::kNonAlnum);
  EXPECT_EQ(e[7].kind, ElemKind::kBytes);
  EXPECT_EQ(e[7].bytes[0], (ByteMatch{0xa0, 0xf0}));
}

TEST(Pattern, ByteMatchMasks) {
  auto p = ParsePattern("??a??b");
  ASSERT_TRUE(p.ok());
  const auto& b = p->elems[0].bytes;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_TRUE(b[0].Matches(0x00) && b[0].Matches(0xff));
  EXPECT_FALSE(b[0].exact());
  EXPECT_TRUE(b[1].Matches(0xa0) && b[1].Matches(0xaf));
  EXPECT_FALSE(b[1].Matches(0xb0));
  EXPECT_TRUE(b[2].Matches(0x0b) && b[2].Matches(0xfb));
  EXPECT_FALSE(b[2].Matches(0x0c));
}

TEST(Pattern, UnboundedGapsAreNotMergedIntoBoundedOnes) {
  auto p = ParsePattern("aa{1-2}{3-}bb");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->elems.size(), 3u);
  EXPECT_EQ(p->elems[1].gap_min, 4u);
  EXPECT_EQ(p->elems[1].gap_max, kGapUnbounded);
}

TEST(Pattern, Lengths) {
  struct Case {
    const char* in;
    uint64_t min, max;
  } cases[] = {
      {"4d5a", 2, 2},
      {"4d{2-5}5a", 4, 7},
      {"4d*5a", 2, kGapUnbounded},
      {"4d{3-}5a", 5, kGapUnbounded},
      {"(aa|bbcc|dd)", 1, 2},
      {"!(aabb|ccdd)", 2, 2},
      {"(B)aa(W)", 3, 3},
      {"aa(L)", 2, 3},  // (L) may be CRLF
  };
  for (const auto& c : cases) {
    auto p = ParsePattern(c.in);
    ASSERT_TRUE(p.ok()) << c.in << ": " << p.status().message();
    EXPECT_EQ(p->MinLength(), c.min) << c.in;
    EXPECT_EQ(p->MaxLength(), c.max) << c.in;
  }
}

}  // namespace
}  // namespace vigil::sig
