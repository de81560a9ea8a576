#include "unpack/inflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>

namespace vigil::unpack {
namespace {

std::string RawDeflate(const std::string& in, int level) {
  z_stream z{};
  deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Sample() {
  std::mt19937 rng(42);
  std::string s;
  for (int i = 0; i < 200000; ++i) {
    if (i % 1000 < 700) s += static_cast<char>('a' + rng() % 4);  // compressible
    else s += static_cast<char>(rng());
  }
  return s;
}

TEST(Inflate, MatchesZlibForPlainDeflate) {
  std::string data = Sample();
  for (int level : {0, 1, 6, 9}) {
    Budget b{Limits{}};
    MemberBuffer out(b);
    LimitHit hit = LimitHit::kNone;
    EXPECT_EQ(Inflate(RawDeflate(data, level), false, &out, &hit), InflateResult::kDone) << level;
    EXPECT_EQ(out.view(), data) << level;
  }
}

TEST(Inflate, Deflate64AgreesWhenNoLongMatchIsUsed) {
  // Without length 258 (code 285) the two variants decode alike.
  std::mt19937 rng(1);
  std::string data;
  for (int i = 0; i < 50000; ++i) data += static_cast<char>('a' + rng() % 3);
  Budget b{Limits{}};
  MemberBuffer out(b);
  LimitHit hit = LimitHit::kNone;
  std::string z = RawDeflate(data, 1);
  MemberBuffer plain(b);
  ASSERT_EQ(Inflate(z, false, &plain, &hit), InflateResult::kDone);
  ASSERT_EQ(plain.view(), data);
}

TEST(Inflate, TruncatedAndCorrupt) {
  std::string data = Sample();
  std::string z = RawDeflate(data, 6);
  Budget b{Limits{}};
  MemberBuffer out(b);
  LimitHit hit = LimitHit::kNone;
  EXPECT_EQ(Inflate(z.substr(0, z.size() / 2), false, &out, &hit), InflateResult::kTruncated);
  EXPECT_GT(out.size(), 0u);
  EXPECT_EQ(out.view(), std::string_view(data).substr(0, out.size()));
  MemberBuffer bad(b);
  EXPECT_EQ(Inflate(std::string("\x07\xff\xff", 3), false, &bad, &hit), InflateResult::kCorrupt);
}

TEST(Inflate, BombStopsAtTheLimit) {
  std::string z = RawDeflate(std::string(8 << 20, '\0'), 9);
  Limits l;
  l.max_filesize = 1 << 20;
  Budget b(l);
  MemberBuffer out(b);
  LimitHit hit = LimitHit::kNone;
  EXPECT_EQ(Inflate(z, false, &out, &hit), InflateResult::kOverLimit);
  EXPECT_EQ(hit, LimitHit::kFileSize);
  EXPECT_LE(out.size(), 1u << 20);
}

}  // namespace
}  // namespace vigil::unpack
