#include "unpack/budget.h"

#include <gtest/gtest.h>

namespace vigil::unpack {
namespace {

TEST(Budget, DefaultsAreClamscans) {
  Limits l;
  EXPECT_EQ(l.max_filesize, 100ull << 20);
  EXPECT_EQ(l.max_scansize, 400ull << 20);
  EXPECT_EQ(l.max_files, 10000u);
  EXPECT_EQ(l.max_recursion, 17u);
  EXPECT_EQ(l.max_scantime_ms, 120000u);
}

TEST(Budget, FileSizeSkipsOneMemberOnly) {
  Limits l;
  l.max_filesize = 100;
  Budget b(l);
  EXPECT_EQ(b.Admit(1, 101), LimitHit::kFileSize);
  EXPECT_FALSE(b.exhausted());
  EXPECT_EQ(b.Admit(1, 100), LimitHit::kNone);
  EXPECT_EQ(b.Grow(100), LimitHit::kNone);
  EXPECT_EQ(b.Grow(101), LimitHit::kFileSize);
  EXPECT_EQ(b.MemberCap(), 100u);
}

TEST(Budget, FilesAreCountedAndExhaust) {
  Limits l;
  l.max_files = 2;
  Budget b(l);
  EXPECT_EQ(b.Admit(1, 10), LimitHit::kNone);
  EXPECT_EQ(b.Admit(1, 10), LimitHit::kNone);
  EXPECT_EQ(b.Admit(1, 10), LimitHit::kFiles);
  EXPECT_TRUE(b.exhausted());
  EXPECT_EQ(b.Admit(1, 1), LimitHit::kFiles);
}

TEST(Budget, Recursion) {
  Limits l;
  l.max_recursion = 3;
  Budget b(l);
  EXPECT_EQ(b.Admit(3, 1), LimitHit::kNone);
  EXPECT_EQ(b.Admit(4, 1), LimitHit::kRecursion);
  EXPECT_FALSE(b.exhausted());
}

TEST(Budget, ScanSizeShrinksTheMemberCap) {
  Limits l;
  l.max_scansize = 1000;
  Budget b(l);
  b.Charge(600);
  EXPECT_EQ(b.MemberCap(), 400u);
  EXPECT_EQ(b.Admit(1, 500), LimitHit::kScanSize);
  EXPECT_EQ(b.Admit(1, 400), LimitHit::kNone);
  b.Charge(400);
  EXPECT_EQ(b.Admit(1, UINT64_MAX), LimitHit::kScanSize);
  EXPECT_TRUE(b.exhausted());
}

TEST(Budget, ZeroMeansNoLimit) {
  Limits l{0, 0, 0, 0, 0};
  Budget b(l);
  EXPECT_EQ(b.Admit(1000, 1ull << 40), LimitHit::kNone);
  EXPECT_EQ(b.MemberCap(), UINT64_MAX);
  EXPECT_FALSE(b.Expired());
}

TEST(Budget, TimeLimit) {
  Limits l;
  l.max_scantime_ms = 1;
  Budget b(l);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
  while (std::chrono::steady_clock::now() < until) {}
  bool expired = false;
  for (int i = 0; i < 200 && !expired; ++i) expired = b.Expired();  // heartbeat: within 64 calls
  EXPECT_TRUE(expired);
  EXPECT_EQ(b.Admit(1, 1), LimitHit::kScanTime);
}

TEST(Budget, HeuristicNames) {
  EXPECT_EQ(HeuristicName(LimitHit::kFileSize), "Heuristics.Limits.Exceeded.MaxFileSize");
  EXPECT_EQ(HeuristicName(LimitHit::kScanSize), "Heuristics.Limits.Exceeded.MaxScanSize");
  EXPECT_EQ(HeuristicName(LimitHit::kFiles), "Heuristics.Limits.Exceeded.MaxFiles");
  EXPECT_EQ(HeuristicName(LimitHit::kRecursion), "Heuristics.Limits.Exceeded.MaxRecursion");
  EXPECT_EQ(HeuristicName(LimitHit::kScanTime), "Heuristics.Limits.Exceeded.MaxScanTime");
}

}  // namespace
}  // namespace vigil::unpack
