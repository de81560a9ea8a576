#include "unpack/explode.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

std::string ReadFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

const char* kImplZip = "/usr/share/clamav-testfiles/clam.impl.zip";
const char* kClamExe = "/usr/share/clamav-testfiles/clam.exe";

// The only imploded zip at hand: clamav-testfiles' (4 KiB dictionary, no
// literal tree), made by PKWARE's tool. Its member must come out as clam.exe.
TEST(Explode, RealImplodedZipFromClamavTestfiles) {
  if (!std::filesystem::exists(kImplZip)) GTEST_SKIP() << "clamav-testfiles not installed (scripts/setup.sh)";
  std::string zip = ReadFile(kImplZip), exe = ReadFile(kClamExe);
  auto r = testing::UnpackAll(zip);
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "CLAM.EXE");
  EXPECT_TRUE(r.members[0].second == exe);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
}

TEST(Explode, TruncatedAndCorruptStreamsStopCleanly) {
  if (!std::filesystem::exists(kImplZip)) GTEST_SKIP() << "clamav-testfiles not installed (scripts/setup.sh)";
  std::string zip = ReadFile(kImplZip);
  const size_t data = 0x26, packed = 280;  // where CLAM.EXE's imploded bytes lie
  std::string_view stream = std::string_view(zip).substr(data, packed);
  Budget budget(Limits{});
  for (size_t cut = 0; cut < packed; cut += 7) {
    MemberBuffer out(budget);
    LimitHit hit = LimitHit::kNone;
    InflateResult r = Explode(stream.substr(0, cut), 0, 544, &out, &hit);
    EXPECT_NE(r, InflateResult::kDone) << cut;
    EXPECT_LE(out.size(), 544u);
  }
  // Bit flips anywhere: never more than asked for, never a crash.
  for (size_t i = 0; i < packed; ++i) {
    std::string bad(stream);
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    MemberBuffer out(budget);
    LimitHit hit = LimitHit::kNone;
    (void)Explode(bad, 0, 544, &out, &hit);
    EXPECT_LE(out.size(), 544u);
  }
  // The other layouts (8 KiB dictionary, literal tree) read their trees from
  // the same bytes and must fail or stop as cleanly.
  for (uint16_t flags : {2, 4, 6}) {
    MemberBuffer out(budget);
    LimitHit hit = LimitHit::kNone;
    (void)Explode(stream, flags, 544, &out, &hit);
    EXPECT_LE(out.size(), 544u);
  }
}

TEST(Explode, DeclaredSizeBeyondTheLimitStops) {
  if (!std::filesystem::exists(kImplZip)) GTEST_SKIP() << "clamav-testfiles not installed (scripts/setup.sh)";
  std::string zip = ReadFile(kImplZip);
  Limits l;
  l.max_filesize = 100;
  Budget budget(l);
  MemberBuffer out(budget);
  LimitHit hit = LimitHit::kNone;
  EXPECT_EQ(Explode(std::string_view(zip).substr(0x26, 280), 0, 544, &out, &hit), InflateResult::kOverLimit);
}

}  // namespace
}  // namespace vigil::unpack
