#include "update/note.h"

#include <gtest/gtest.h>

#include "update/util.h"

namespace vigil::update {
namespace {

// The example of the C2SP signed-note specification.
constexpr const char* kExampleKey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr const char* kExampleNote =
    "This is an example message.\n\n"
    "\xe2\x80\x94 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

TEST(NoteTest, VerifiesTheSpecificationExample) {
  auto v = ParseVerifierKey(kExampleKey);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->key_id, 0x530d903au);
  auto text = OpenNote(kExampleNote, *v);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(*text, "This is an example message.\n");
  std::string tampered = kExampleNote;
  tampered[0] = 't';
  EXPECT_FALSE(OpenNote(tampered, *v).ok());
}

TEST(NoteTest, SignOpenRoundTripAndKeyFormats) {
  auto s = GenerateSigner("vigil.test/release");
  ASSERT_TRUE(s.ok());
  auto s2 = ParseSignerKey(FormatSignerKey(*s) + "\n");
  ASSERT_TRUE(s2.ok()) << s2.status().message();
  EXPECT_EQ(s2->secret_key, s->secret_key);
  auto v = ParseVerifierKey(FormatVerifierKey(s->Verifier()));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->public_key, s->Verifier().public_key);
  EXPECT_EQ(FormatSignerKey(*s).rfind("PRIVATE+KEY+vigil.test/release+", 0), 0u);

  auto note = SignNote("hello\nworld\n", *s);
  ASSERT_TRUE(note.ok());
  auto text = OpenNote(*note, *v);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "hello\nworld\n");

  // Another key with the same name does not verify it, and says so.
  auto other = GenerateSigner("vigil.test/release");
  auto r = OpenNote(*note, other->Verifier());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not signed by"), std::string::npos);
  // A signature line of the right key over other text fails as a bad signature.
  std::string forged = "hellO\nworld\n" + note->substr(12);
  r = OpenNote(forged, *v);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad signature"), std::string::npos);
  // Extra unknown signatures are ignored.
  auto both = SignNote("hello\nworld\n", *other);
  std::string cosigned = *note + both->substr(both->find("\n\n") + 2);
  EXPECT_TRUE(OpenNote(cosigned, *v).ok());
}

TEST(NoteTest, RejectsMalformedTextAndKeys) {
  auto s = GenerateSigner("k");
  EXPECT_FALSE(SignNote("", *s).ok());
  EXPECT_FALSE(SignNote("no newline", *s).ok());
  EXPECT_FALSE(SignNote("a\n\nb\n", *s).ok());
  EXPECT_FALSE(SignNote("tab\there\n", *s).ok());
  EXPECT_FALSE(GenerateSigner("has space").ok());
  EXPECT_FALSE(GenerateSigner("has+plus").ok());
  EXPECT_FALSE(ParseVerifierKey("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").ok());
  EXPECT_FALSE(ParseVerifierKey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2").ok());
  EXPECT_FALSE(ParseSignerKey(kExampleKey).ok());
  auto v = s->Verifier();
  for (const char* bad : {"", "\n\n", "text\n\n", "text\n\n- k AAAA\n", "text\n\n\xe2\x80\x94 k !!!!\n",
                          "text\n\n\xe2\x80\x94 k AAAAAAAA"})
    EXPECT_FALSE(OpenNote(bad, v).ok()) << bad;
}

TEST(UtilTest, Base64IsStrict) {
  std::string out;
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_TRUE(Base64Decode("aGVsbG8=", &out));
  EXPECT_EQ(out, "hello");
  EXPECT_FALSE(Base64Decode("aGVsbG9=", &out));  // non-zero padding bits
  EXPECT_FALSE(Base64Decode("aGVsbG8", &out));
  EXPECT_FALSE(Base64Decode("aG=sbG8=", &out));
  for (int n = 0; n < 10; ++n) {
    std::string s(n, '\xfe');
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &out));
    EXPECT_EQ(out, s);
  }
}

TEST(UtilTest, TimesAreRfc3339Utc) {
  int64_t t;
  ASSERT_TRUE(ParseTime("2024-09-29T04:00:00Z", &t));
  EXPECT_EQ(t, 1727582400);
  EXPECT_EQ(FormatTime(t), "2024-09-29T04:00:00Z");
  EXPECT_FALSE(ParseTime("2024-02-30T00:00:00Z", &t));
  EXPECT_FALSE(ParseTime("2024-09-29T04:00:00+01:00", &t));
  EXPECT_TRUE(ParseTimeOrSeconds("1727582400", &t));
  EXPECT_EQ(t, 1727582400);
}

}  // namespace
}  // namespace vigil::update
