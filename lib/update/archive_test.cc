#include "update/archive.h"

#include <gtest/gtest.h>

#include <random>

namespace vigil::update {
namespace {

std::string HdbLines(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i)
    s += std::to_string(1000000 + i) + "0123456789abcdef0123456789:" + std::to_string(i % 977) + ":Sig." +
         std::to_string(i) + "\n";
  return s;
}

TEST(ArchiveTest, BundleRoundTripsThroughZstd) {
  FileSet files{{"a.hdb", HdbLines(0, 100)}, {"b.ndb", "X:0:*:41424344\n"}, {"empty.ign2", ""},
                {"bin.cvd", std::string("\0\1\2\n\n", 5)}};
  std::string raw = EncodeBundle(files);
  std::string z = ZstdCompress(raw);
  auto back = ZstdDecompress(z, raw.size());
  ASSERT_TRUE(back.ok());
  auto decoded = DecodeBundle(*back);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, files);
  EXPECT_FALSE(ZstdDecompress(z, raw.size() - 1).ok());          // bigger than announced
  EXPECT_FALSE(ZstdDecompress(z.substr(0, z.size() / 2), raw.size()).ok());  // truncated
  EXPECT_FALSE(DecodeBundle(raw.substr(0, raw.size() - 1)).ok());
  EXPECT_FALSE(DecodeBundle("vigil-bundle 1\nfile ../x 1\na\nend\n").ok());
  EXPECT_FALSE(DecodeBundle("vigil-bundle 1\nfile b 1\na\nfile a 1\na\nend\n").ok());
}

TEST(ArchiveTest, DeltaReproducesTheNewReleaseByteForByte) {
  FileSet v1{{"daily.hdb", HdbLines(0, 2000)}, {"main.ndb", "A:0:*:4142\nB:0:*:4344\n"},
             {"gone.fp", "x\n"}, {"c.cvd", std::string("CVD\0\1", 5)}};
  FileSet v2 = v1;
  // Remove some lines in the middle, add some at the end and one in the middle.
  v2["daily.hdb"] = HdbLines(0, 700) + HdbLines(710, 1500) + "new-middle-line:1:X\n" + HdbLines(1500, 2000) +
                    HdbLines(5000, 5100);
  v2["main.ndb"] = "A:0:*:4142\nB:0:*:4344";  // lost its final newline
  v2.erase("gone.fp");
  v2["new.ldb"] = "L;Engine:51-255,Target:0;0;41\n";
  v2["c.cvd"] = std::string("CVD\0\2", 5);
  std::string delta = MakeDelta(1, 2, v1, v2);
  auto applied = ApplyDelta(delta, v1);
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(*applied, v2);
  // Only the changes travel.
  EXPECT_LT(delta.size(), 100 * 60u);
  EXPECT_EQ(delta.find(HdbLines(100, 101)), std::string::npos);

  // Unchanged release: an empty delta.
  std::string same = MakeDelta(2, 3, v2, v2);
  EXPECT_EQ(same, "vigil-delta 1\nfrom 2\nto 3\nend\n");
  EXPECT_EQ(ApplyDelta(same, v2).value(), v2);

  // Applied to the wrong base, the result differs (the client checks hashes)
  // or the delta is refused.
  FileSet wrong = v1;
  wrong.erase("gone.fp");
  EXPECT_FALSE(ApplyDelta(delta, wrong).ok());
}

TEST(ArchiveTest, RandomEditsRoundTrip) {
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> lines;
    for (int i = 0; i < 200; ++i) lines.push_back("l" + std::to_string(rng() % 50) + "\n");
    std::string a;
    for (auto& l : lines) a += l;
    for (int e = 0; e < 20; ++e) {
      size_t p = rng() % lines.size();
      switch (rng() % 3) {
        case 0: lines.erase(lines.begin() + p); break;
        case 1: lines.insert(lines.begin() + p, "n" + std::to_string(rng()) + "\n"); break;
        case 2: std::swap(lines[p], lines[rng() % lines.size()]); break;
      }
    }
    std::string b;
    for (auto& l : lines) b += l;
    if (round % 2) b += "no-newline";
    FileSet fa{{"f", a}}, fb{{"f", b}};
    auto out = ApplyDelta(MakeDelta(1, 2, fa, fb), fa);
    ASSERT_TRUE(out.ok());
    ASSERT_EQ(*out, fb) << round;
  }
}

TEST(ArchiveTest, MalformedDeltasAreErrors) {
  FileSet base{{"f", "a\nb\n"}};
  for (const char* bad : {"", "vigil-delta 1\nfrom 2\nto 1\nend\n", "vigil-delta 1\nfrom 1\nto 2\n",
                          "vigil-delta 1\nfrom 1\nto 2\npatch f 1\ncopy 1 5\nend\n",
                          "vigil-delta 1\nfrom 1\nto 2\npatch f 1\ncopy 18446744073709551615 2\nend\n",
                          "vigil-delta 1\nfrom 1\nto 2\npatch f 2\ncopy 0 1\nend\n",
                          "vigil-delta 1\nfrom 1\nto 2\nput g 100\nx\nend\n",
                          "vigil-delta 1\nfrom 1\nto 2\ndelete nothere\nend\n",
                          "vigil-delta 1\nfrom 1\nto 2\nend\ntrailing"})
    EXPECT_FALSE(ApplyDelta(bad, base).ok()) << bad;
  EXPECT_EQ(CountSignatureLines("# c\nA\n\nB\r\n"), 2u);
}

}  // namespace
}  // namespace vigil::update
