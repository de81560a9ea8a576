// Golden tests for the .ndb body-signature syntax: each input either parses
// and renders (FormatPattern) to the expected canonical form, or fails with
// exactly the expected reason. Every accepted input must also round-trip:
// parsing the canonical form gives the same Pattern. What is accepted and
// how gaps split follows clamscan 1.4.6 (docs/CLAMAV-COMPAT.md).
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
    // Gaps that split a pattern into parts: *, {-n}, {n-}, {n-m}, {0},
    // {n} from 128 on. A maximum of 0 means no maximum ("{0}" is "*").
    Ok("4d*5a", "4d*5a"),
    Ok("4d{0}5a", "4d*5a"),
    Ok("4d{}5a", "4d*5a"),
    Ok("4d{-0}5a", "4d*5a"),
    Ok("4d{-4}5a", "4d{0-4}5a"),
    Ok("4d{4-}5a", "4d{4-}5a"),
    Ok("4d{0-}5a", "4d*5a"),
    Ok("4d{2-4}5a", "4d{2-4}5a"),
    Ok("4d{3-3}5a", "4d{3-3}5a"),
    Ok("4d{128}5a", "4d{128}5a"),
    Ok("4d{1-4294967294}5a", "4d{1-4294967294}5a"),
    Ok("4d{5-2}5a", "4d{5-2}5a"),  // loads, never matches
    // "{n}" below 128 stays inside a part; adjacent ones merge.
    Ok("4d{4}5a", "4d{4}5a"),
    Ok("{2}4d5a", "{2}4d5a"),
    Ok("4d5a{2}", "4d5a{2}"),
    Ok("4d{1}{2}5a", "4d{3}5a"),
    Ok("4d{100}{100}5a", "4d{127}{73}5a"),
    Ok("4d{2}*5a", "4d{2}*5a"),
    Ok("4d*{2}5a", "4d*{2}5a"),
    // ...until a brace that splits: every later "{n}" splits too.
    Ok("4d{1-2}5a{2}6b", "4d{1-2}5a{2-2}6b"),
    Ok("4d{2}5a{200}6b{3}7c", "4d{2}5a{200}6b{3-3}7c"),
    // [x-y] ties a single byte to the rest of its part.
    Ok("4d[1-4]5a5b", "4d[1-4]5a5b"),
    Ok("4d5a[0-32]5b", "4d5a[0-32]5b"),
    Ok("4d[2-2]5a5b", "4d[2-2]5a5b"),
    Ok("4d[1-2]5a5b[3-4]6c", "4d[1-2]5a5b[3-4]6c"),
    Ok("4d5a*6b[1-2]7c7d", "4d5a*6b[1-2]7c7d"),
    // Alternatives, single- and multi-byte, and of different lengths.
    Ok("(aa|bb)cc", "(aa|bb)cc"),
    Ok("cc(aa|bb|dd)", "cc(aa|bb|dd)"),
    Ok("cc(aabb|ddee)ff", "cc(aabb|ddee)ff"),
    Ok("cc(aa|bbdd|eeff00)ff", "cc(aa|bbdd|eeff00)ff"),
    Ok("cc(a?|?b|??)dd", "cc(a?|?b|??)dd"),
    Ok("cc(AA|Bb)dd", "cc(aa|bb)dd"),
    Ok("cc(aa{2}|bb)dd", "cc(aa????|bb)dd"),
    // An alternation of one stays one (clamscan treats it as a special);
    // an empty last alternative makes it optional.
    Ok("cc(aa)dd", "cc(aa)dd"),
    Ok("(aabb)", "(aabb)"),
    Ok("cc(aa|)dd", "cc(aa|)dd"),
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
    Ok("4d5a{2}??(aa|bbcc)!(dd|ee)*ff[1-3]f?(B)f?(L)(W){-9}00",
       "4d5a{2}??(aa|bbcc)!(dd|ee)*ff[1-3]f?(B)f?(L)(W){0-9}00"),

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
    Bad("{1-2}4d", "signature cannot begin or end with a wildcard gap"),
    Bad("4d[1-2]", "signature cannot begin or end with a wildcard gap"),
    Bad("*", "signature cannot begin or end with a wildcard gap"),
    Bad("4d**5a", "empty part between two wildcard gaps"),
    Bad("4d{1-2}{3-4}5a", "empty part between two wildcard gaps"),
    Bad("4d{1-2}*5a", "empty part between two wildcard gaps"),
    Bad("4d{200}{1}5a", "empty part between two wildcard gaps"),
    Bad("4d{5", "unterminated '{'"),
    Bad("4d{a}5a", "bad gap '{a}'"),
    Bad("4d{-}5a", "bad gap '{-}'"),
    Bad("4d{+3}5a", "bad gap '{+3}'"),
    Bad("4d{1-2-3}5a", "bad gap '{1-2-3}'"),
    Bad("4d{ 3}5a", "bad gap '{ 3}'"),
    Bad("4d{4294967296}5a", "bad gap '{4294967296}'"),
    Bad("4d{4294967295}5a", "gap too large"),
    Bad("4d{1-4294967295}5a", "gap too large"),
    Bad("4d[1-2", "unterminated '['"),
    Bad("4d[5-1]5a", "bad byte-anchored range '[5-1]'"),
    Bad("4d[3]5a", "bad byte-anchored range '[3]'"),
    Bad("4d[-3]5a", "bad byte-anchored range '[-3]'"),
    Bad("4d[1-]5a", "bad byte-anchored range '[1-]'"),
    Bad("4d[1-33]5a", "byte-anchored range '[1-33]' exceeds 32"),
    Bad("4d*[1-3]5a", "byte-anchored range next to another gap"),
    Bad("4d5a[1-2]6b6c", "byte-anchored range needs a single byte on one side of its part"),
    Bad("4d[1-2]5a[1-2]6b6c", "byte-anchored range needs a single byte on one side of its part"),
    Bad("(B)4d[1-2]5a6b", "byte-anchored range needs a single byte on one side of its part"),
    Bad("4d(aa|bb", "unterminated '('"),
    Bad("4d(aa||bb)5a", "empty alternative in '(aa||bb)'"),
    Bad("4d(|aa)5a", "empty alternative in '(|aa)'"),
    Bad("4d()5a", "empty alternative in '()'"),
    Bad("4d(aab|bb)", "odd number of hex digits in alternative 'aab'"),
    Bad("4d(zz|bb)", "invalid alternative 'zz'"),
    Bad("4d(aa*|bb)", "invalid alternative 'aa*'"),
    Bad("4d(aa{1-2}|bb)", "alternative 'aa{1-2}' has a gap other than {n}"),
    Bad("4d((aa|bb)|cc)", "nested alternatives in '((aa|bb)' are not supported"),
    Bad("4d(X)", "invalid alternative 'X'"),
    Bad("4d(b)", "odd number of hex digits in alternative 'b'"),
    Bad("4d!aa", "'!' must be followed by '('"),
    Bad("4d!", "'!' must be followed by '('"),
    Bad("4d!(B)", "negated special '!(B)' is not supported"),
    Bad("4d!(aa|bbcc)", "negated alternatives must all have the same length"),
    Bad("4d!(a?|bb)", "negated alternatives cannot contain wildcards"),
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

TEST(Pattern, GapKinds) {
  auto p = ParsePattern("aa{2}bb*cc{1-2}dd{3}ee[1-2]ff");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const auto& e = p->elems;
  ASSERT_EQ(e.size(), 11u);
  EXPECT_EQ(e[1].gap_kind, GapKind::kFixed);
  EXPECT_EQ(e[3].gap_kind, GapKind::kSplit);
  EXPECT_EQ(e[3].gap_max, kGapUnbounded);
  EXPECT_EQ(e[5].gap_kind, GapKind::kSplit);
  EXPECT_EQ(e[7].gap_kind, GapKind::kSplit);  // after "{1-2}", "{3}" splits too
  EXPECT_EQ(e[7].gap_min, 3u);
  EXPECT_EQ(e[7].gap_max, 3u);
  EXPECT_EQ(e[9].gap_kind, GapKind::kByteRange);
  EXPECT_EQ(p->PartCount(), 4u);
}

TEST(Pattern, PlacesOfSpecialsAndAlternations) {
  // (B) first in a part tests the byte before, (W) last the byte after; in
  // the middle a special consumes a byte. In part 1, (L) and the alternation
  // come before the part's clamscan anchor ("6364"), so clamscan checks them
  // backwards; in part 2 the anchor is "6768" and the middle (B) is before it.
  auto p = ParsePattern("(B)6162(L)(aa|bbcc)6364(W)*(B)6566(B)6768(W)");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const auto& e = p->elems;
  ASSERT_EQ(e.size(), 12u);
  EXPECT_EQ(e[0].place, Place::kBefore);
  EXPECT_EQ(e[2].place, Place::kPrefix);
  EXPECT_EQ(e[3].place, Place::kPrefix);
  EXPECT_EQ(e[5].place, Place::kAfter);
  EXPECT_EQ(e[7].place, Place::kBefore);
  EXPECT_EQ(e[9].place, Place::kPrefix);
  EXPECT_EQ(e[11].place, Place::kAfter);
  auto parts = PatternParts(*p);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].core_first, 1u);
  EXPECT_EQ(parts[0].core_last, 5u);
  EXPECT_EQ(parts[0].anchor_elem, 4u);
  EXPECT_EQ(parts[0].prefix_min, 3u);  // 6162 + the shortest alternative; (L) counts 0
  EXPECT_EQ(parts[0].prefix_max, 4u);
  EXPECT_EQ(parts[1].core_first, 8u);
  EXPECT_EQ(parts[1].core_last, 11u);
  EXPECT_EQ(parts[1].anchor_elem, 10u);
  // A part whose first three bytes are literal (not all zero) anchors there.
  auto q = ParsePattern("616263(L)6465");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->elems[1].place, Place::kInside);
  EXPECT_EQ(PatternParts(*q)[0].anchor_elem, 0u);
}

TEST(Pattern, LoadLimits) {
  // Each case: pattern, limits, the reason clamscan refuses it (or "").
  struct Case {
    const char* in;
    bool literal_min3;
    const char* why;
  } cases[] = {
      {"616263", true, ""},
      {"6162", true, "literal signature shorter than 3 bytes"},
      {"6162", false, ""},
      {"61", false, "signature is shorter than 2 bytes"},
      {"61??62", false, "signature has no run of 2 literal bytes"},
      {"(61|62)(63|64)", false, "signature has no run of 2 literal bytes"},
      {"6162*63", false, "part 2 of the signature is shorter than 2 bytes"},
      {"6162*63??", false, "part 2 of the signature has no run of 2 literal bytes"},
      {"61[1-2]62", false, "signature is shorter than 2 bytes"},
      {"61(B)6263", false, "signature needs 2 byte positions before its first special or multi-byte alternative"},
      {"57(6162|6364)58595a", false, "signature needs 2 byte positions before its first special or multi-byte alternative"},
      {"(B)(B)5758", false, ""},
      {"(6162|6364)5758", false, ""},
      {"5758(B)595a", false, ""},
      {"61(62)63", false, "signature has no run of 2 literal bytes"},
  };
  for (const auto& c : cases) {
    auto p = ParsePattern(c.in);
    ASSERT_TRUE(p.ok()) << c.in << ": " << p.status().message();
    LoadLimits limits;
    limits.literal_min3 = c.literal_min3;
    Status st = CheckLoadLimits(*p, limits);
    EXPECT_EQ(st.message(), c.why) << c.in;
  }
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
      {"(B)aa(W)", 1, 1},      // zero-width at the edges
      {"aabb(W)ccdd", 5, 5},   // one byte in the middle
      {"aabb(L)ccdd", 5, 6},   // (L) may be CR LF
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
